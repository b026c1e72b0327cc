#!/usr/bin/python3
"""Make PaddleOCR's PP-OCRv4 recognition model load in Debian 12's OpenCV 4.6 DNN.

Usage: fix-ppocr.py SRC.onnx DEST_DIR WIDTH...   (writes DEST_DIR/ppocr_rec_<WIDTH>.onnx)
       fix-ppocr.py --det SRC.onnx DEST.onnx      (the DB text detector, any input size)
       fix-ppocr.py --cls SRC.onnx DEST.onnx      (the text-line direction classifier, 1x3x48x192)

The detector (opset 11) is fully convolutional: it runs at any input size once its Constant
nodes are initializers and Clip's min/max inputs are attributes (OpenCV 4.6 reads only the
attribute form) and the bias and BatchNormalization after its ConvTranspose nodes are folded
into them (fold_deconv: one net then serves every input size); its batch is fixed to 1. Its
hardswish, 5x5 depthwise convolutions and squeeze-excitation products become beian's layers
(fuse_hswish, depthwise_layers, se_products). The classifier ends in a Shape/Reshape and is
folded like the recogniser at its one input size.

The outputs use beian's own OpenCV layers (BnHSwish, BnDwConv, BnChannelScale; lib/img/
bn_dnnlayers.cpp), so they are not standard ONNX: only beian's loader reads them.

The model as shipped (paddle2onnx, opset 9) has a dynamic batch and width and computes the
shapes of its Reshape nodes at run time from Shape nodes; OpenCV 4.6 cannot import that
("start <= shape.size()" in shape_utils). So, per fixed input width:
  1. the input becomes 1x3x48xWIDTH;
  2. ONNX shape inference gives every tensor a static shape, and each Shape node is replaced by
     a constant;
  3. every node whose inputs are all constant (Cast/Slice/Concat/Gather/arithmetic on shapes) is
     evaluated here with numpy and replaced by an initializer, so Reshape gets a constant shape;
  4. LayerNorm's scale and bias are 1-D constants applied to a 3-D tensor; OpenCV 4.6 turns
     such a Mul/Add into a Scale layer over axis 1 and fails, so they are broadcast to the full
     static shape. Clip keeps min/max as attributes (opset 9 as
     shipped, which OpenCV reads);
  5. the scalar affine blocks after convolutions and activations are folded into the
     convolutions (fold_affine), the final Softmax is dropped (the output is the logits, the
     recogniser computes the probability of the characters it emits), every 5x5 depthwise
     convolution becomes beian's own BnDwConv layer (depthwise_layers) and every hardswish one
     BnHSwish node (fuse_hswish). The classifier gets the same two.
The result is deterministic (same input, same bytes), so fetch-models.sh pins its hash too.
Only Debian's python3-onnx and python3-numpy are needed.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference


def const_value(node):
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
    raise ValueError("Constant without value: %s" % node.name)


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def evaluate(node, ins):
    """numpy for the ops that occur in the model's shape arithmetic."""
    op, at = node.op_type, attrs(node)
    if op == "Cast":
        return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[at["to"]].type(ins[0]) if np.ndim(ins[0]) == 0 else \
            ins[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[at["to"]])
    if op == "Slice":  # opset 9: starts/ends/axes are attributes
        x = ins[0]
        sl = [slice(None)] * x.ndim
        axes = at.get("axes", list(range(len(at["starts"]))))
        for ax, s, e in zip(axes, at["starts"], at["ends"]):
            sl[ax] = slice(s, e)
        return x[tuple(sl)]
    if op == "Concat":
        return np.concatenate([np.atleast_1d(i) for i in ins], axis=at["axis"])
    if op == "Gather":
        return np.take(ins[0], ins[1], axis=at.get("axis", 0))
    if op == "Unsqueeze":
        x = ins[0]
        for ax in sorted(at["axes"]):
            x = np.expand_dims(x, ax)
        return x
    if op == "Squeeze":
        return np.squeeze(ins[0], axis=tuple(at["axes"])) if "axes" in at else np.squeeze(ins[0])
    if op in ("Mul", "Add", "Sub", "Div"):
        f = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract,
             "Div": (lambda a, b: a // b if a.dtype.kind in "iu" else a / b)}[op]
        return f(ins[0], ins[1]).astype(ins[0].dtype)
    if op == "Identity":
        return ins[0]
    return None


def static_shapes(m):
    shapes = {}
    inferred = shape_inference.infer_shapes(m)
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        sh = vi.type.tensor_type.shape
        # an unknown rank has no dims at all: not static
        if vi.type.tensor_type.HasField("shape") and len(sh.dim) > 0 and \
                all(d.HasField("dim_value") and d.dim_value > 0 for d in sh.dim):
            shapes[vi.name] = [d.dim_value for d in sh.dim]
    return shapes


def fold(m):
    """One pass: Shape nodes with a static input and all-constant nodes become initializers.
    Returns the number of nodes removed (shapes downstream of a folded Reshape only become
    static in the next pass)."""
    g = m.graph
    shapes = static_shapes(m)
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    keep = []
    for n in g.node:
        val = None
        if n.op_type == "Constant":
            val = const_value(n)
        elif n.op_type == "Shape" and n.input[0] in shapes:
            val = np.array(shapes[n.input[0]], dtype=np.int64)
        elif n.op_type != "Shape" and all(i in consts for i in n.input) and len(n.output) == 1:
            val = evaluate(n, [consts[i] for i in n.input])
        if val is not None and len(n.output) == 1:
            consts[n.output[0]] = np.asarray(val)
            continue
        keep.append(n)
    removed = len(g.node) - len(keep)
    # Initializers: the original weights plus every folded value a kept node still reads.
    used = {i for n in keep for i in n.input} | {o.name for o in g.output}
    inits = [numpy_helper.from_array(np.asarray(consts[name]), name) for name in sorted(used) if name in consts]
    del g.node[:]
    g.node.extend(keep)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.value_info[:]
    # Initializers must not be listed as graph inputs for OpenCV.
    names = {t.name for t in inits}
    real_inputs = [i for i in g.input if i.name not in names]
    del g.input[:]
    g.input.extend(real_inputs)
    return removed


def broadcast_vectors(m):
    """LayerNorm's 1-D scale (Mul) and bias (Add after that Mul) on a rank-3 tensor -> full-shape
    constants. A bias after MatMul is left alone: OpenCV imports that one fine, and the final
    layer's 6625-wide bias would grow the file by megabytes."""
    g = m.graph
    shapes = static_shapes(m)
    init = {t.name: t for t in g.initializer}
    prod = {o: n.op_type for n in g.node for o in n.output}
    done = set()
    for n in g.node:
        if n.op_type not in ("Mul", "Add") or len(n.input) != 2:
            continue
        x, c = n.input
        if n.op_type == "Add" and prod.get(x) != "Mul":
            continue
        if c not in init or x not in shapes or c in done or len(shapes[x]) != 3:
            continue
        a = numpy_helper.to_array(init[c])
        if a.ndim != 1 or a.size <= 1 or a.size != shapes[x][-1]:
            continue
        full = np.ascontiguousarray(np.broadcast_to(a.reshape(1, 1, -1), shapes[x]).astype(a.dtype))
        init[c].CopyFrom(numpy_helper.from_array(full, c))
        done.add(c)
    users = {c for n in g.node for c in n.input if c in done}
    return len(users)


def scalar_of(init, name):
    """The value of the one-element initializer name, else None."""
    a = numpy_helper.to_array(init[name]) if name in init else None
    return float(a.reshape(-1)[0]) if a is not None and a.size == 1 else None


def users_of(g):
    """Each tensor name -> the nodes that read it."""
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    return users


def only_user(g, users, out):
    """The one node reading out; None when none or several do, or out is a graph output."""
    u = users.get(out, [])
    return u[0] if len(u) == 1 and out not in {o.name for o in g.output} else None


def drop_unused_initializers(g):
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def fold_affine(m):
    """PP-LCNetV3's learnable affine blocks (a scalar Mul and Add after a convolution and after
    each activation) folded away, exactly:
      Conv -> Mul(s) [-> Add(b)]        the convolution's weights times s, its bias s*bias + b;
      Div(6) -> Mul(s)                  one Mul by s/6 (hardswish's division and the scale);
      Add(b) -> 1x1 Conv (no padding)   the convolution's bias plus b times its weights' sum.
    Each was an element-wise pass over a whole feature map (~0.3 ms each at width 480) and
    there are ~100. Returns the number of nodes removed."""
    g = m.graph
    init = {t.name: t for t in g.initializer}

    def arr(name):
        return numpy_helper.to_array(init[name]) if name in init else None

    def set_arr(name, a):
        if name in init:
            init[name].CopyFrom(numpy_helper.from_array(a.astype(np.float32), name))
        else:
            t = numpy_helper.from_array(a.astype(np.float32), name)
            g.initializer.append(t)
            init[name] = t

    removed = 0
    changed = True
    while changed:
        changed = False
        users = users_of(g)

        def bypass(node):  # node's single input replaces its output everywhere
            x = node.input[0] if node.input[0] not in init else node.input[1]
            for u in users.get(node.output[0], []):
                for k, i in enumerate(u.input):
                    if i == node.output[0]:
                        u.input[k] = x
            g.node.remove(node)

        def scaled_by(node):  # the single Mul by a scalar after node, and the scalar
            mul = only_user(g, users, node.output[0])
            if not mul or mul.op_type != "Mul":
                return None, None, None
            c = mul.input[1] if mul.input[0] == node.output[0] else mul.input[0]
            return mul, c, scalar_of(init, c)

        for n in list(g.node):
            if n.op_type != "Conv" or len(n.input) < 2 or n.input[1] not in init:
                continue
            mul, c, sv = scaled_by(n)
            if sv is None:
                continue
            w = arr(n.input[1])
            b = arr(n.input[2]) if len(n.input) > 2 else np.zeros(w.shape[0], np.float32)
            w, b = w * sv, b * sv
            add = only_user(g, users, mul.output[0])
            bv = None
            if add and add.op_type == "Add":
                c2 = add.input[1] if add.input[0] == mul.output[0] else add.input[0]
                bv = scalar_of(init, c2)
            wn, bn = n.name + "_fw", n.name + "_fb"
            set_arr(wn, w)
            set_arr(bn, b + (bv if bv is not None else 0))
            del n.input[1:]
            n.input.extend([wn, bn])
            bypass(mul)
            removed += 1
            if bv is not None:
                bypass(add)
                removed += 1
            changed = True
            break
        if changed:
            continue
        for n in list(g.node):
            if n.op_type != "Div" or scalar_of(init, n.input[1]) is None:
                continue
            mul, c, sv = scaled_by(n)
            if sv is None:
                continue
            cn = mul.name + "_fs"
            set_arr(cn, np.full(arr(c).shape, sv / scalar_of(init, n.input[1]), np.float32))
            mul.input[0], mul.input[1] = n.input[0], cn
            g.node.remove(n)
            removed += 1
            changed = True
            break
        if changed:
            continue
        for n in list(g.node):
            if n.op_type != "Add":
                continue
            c = n.input[1] if n.input[1] in init else n.input[0]
            bv = scalar_of(init, c)
            conv = only_user(g, users, n.output[0])
            if bv is None or not conv or conv.op_type != "Conv" or conv.input[0] != n.output[0] or \
                    conv.input[1] not in init:
                continue
            at = attrs(conv)
            w = arr(conv.input[1])
            if w.shape[2:] != (1, 1) or at.get("group", 1) != 1 or any(at.get("pads", [0, 0, 0, 0])):
                continue
            b = arr(conv.input[2]) if len(conv.input) > 2 else np.zeros(w.shape[0], np.float32)
            bn = conv.name + "_fb2"
            set_arr(bn, b + bv * w.sum(axis=(1, 2, 3)))
            del conv.input[2:]
            conv.input.append(bn)
            bypass(n)
            removed += 1
            changed = True
            break
    drop_unused_initializers(g)
    return removed


def depthwise_layers(m):
    """Every 5x5 depthwise convolution (weights C x 1 x 5 x 5, the same padding all round,
    stride 1 or 2) -> a BnDwConv node (attributes ksize, stride_y, stride_x, pad), beian's own
    depthwise layer (lib/img/bn_dnnlayers.cpp). OpenCV 4.6 has a fast path for 3x3 depthwise
    kernels only and ran these ~25x slower than a 3x3; split into four 3x3 ones they still cost
    a padding copy each and a sum. Same arithmetic up to float rounding (the taps are summed in
    another order)."""
    g = m.graph
    init = {t.name: t for t in g.initializer}
    out, done = [], 0
    for n in g.node:
        at = attrs(n)
        out.append(n)
        if n.op_type != "Conv" or n.input[1] not in init:
            continue
        w = numpy_helper.to_array(init[n.input[1]])
        pads, strides = list(at.get("pads", [0, 0, 0, 0])), list(at.get("strides", [1, 1]))
        if w.shape[1] != 1 or at.get("group", 1) != w.shape[0] or list(w.shape[2:]) != [5, 5] or \
                len(set(pads)) != 1 or any(d != 1 for d in at.get("dilations", [1, 1])) or \
                any(s not in (1, 2) for s in strides):
            continue
        ins = [n.input[0], n.input[1]]
        if len(n.input) > 2 and n.input[2]:
            ins.append(n.input[2])
        else:
            b = n.name + "_zero_bias"
            g.initializer.append(numpy_helper.from_array(np.zeros(w.shape[0], w.dtype), b))
            ins.append(b)
        out[-1] = helper.make_node("BnDwConv", ins, list(n.output), name=n.name, ksize=5, stride_y=strides[0],
                                   stride_x=strides[1], pad=pads[0])
        done += 1
    del g.node[:]
    g.node.extend(out)
    return done


def se_products(m):
    """A squeeze-excitation block's product, Mul(x, HardSigmoid(...)) where the HardSigmoid
    output is one weight per channel, -> a BnChannelScale node (lib/img/bn_dnnlayers.cpp). In
    the detector, whose shapes are dynamic, OpenCV 4.6 made each a broadcasting Eltwise walking
    the map with a generic iterator (6 ms for one at 480)."""
    g = m.graph
    prod = {o: n for n in g.node for o in n.output}

    def pooled(name, depth=6):  # reaches a GlobalAveragePool going up single-input nodes
        n = prod.get(name)
        while n is not None and depth > 0:
            if n.op_type == "GlobalAveragePool":
                return True
            n, depth = prod.get(n.input[0]), depth - 1
        return False

    done = 0
    for n in g.node:
        if n.op_type != "Mul" or len(n.input) != 2:
            continue
        for a, s in ((0, 1), (1, 0)):
            h = prod.get(n.input[s])
            if h is not None and h.op_type == "HardSigmoid" and pooled(h.input[0]):
                x, w = n.input[a], n.input[s]
                n.op_type = "BnChannelScale"
                del n.input[:]
                n.input.extend([x, w])
                done += 1
                break
    return done


def drop_softmax(m):
    """The final Softmax over 6625 classes at every step (~6 % of the time): the recogniser
    takes the arg-max of the logits and computes the winning probability itself, only at the
    steps that emit a character. The graph's output becomes the logits."""
    g = m.graph
    last = g.node[-1]
    if last.op_type != "Softmax" or last.output[0] != g.output[0].name:
        raise SystemExit("fix-ppocr: the recogniser does not end in a Softmax")
    g.output[0].name = last.input[0]
    g.node.remove(last)


def fix(src, width):
    m = onnx.load(src)
    g = m.graph
    dims = g.input[0].type.tensor_type.shape.dim
    dims[0].Clear(); dims[0].dim_value = 1
    dims[3].Clear(); dims[3].dim_value = width
    for d in g.output[0].type.tensor_type.shape.dim:
        if d.dim_param:
            d.Clear()
    while fold(m):
        pass
    left = [n.name for n in g.node if n.op_type == "Shape"]
    if left:
        raise SystemExit("fix-ppocr: shapes still dynamic at %s" % ", ".join(left))
    broadcast_vectors(m)
    fold_affine(m)
    drop_softmax(m)
    shapes = static_shapes(m)
    if g.output[0].name in shapes:
        for d, v in zip(g.output[0].type.tensor_type.shape.dim, shapes[g.output[0].name]):
            d.Clear(); d.dim_value = v
    onnx.checker.check_model(m)
    if depthwise_layers(m) != 8:
        raise SystemExit("fix-ppocr: the recogniser's 5x5 depthwise convolutions are not the 8 expected")
    if fuse_hswish(m) != 28:
        raise SystemExit("fix-ppocr: the recogniser's hardswish activations are not the 28 expected")
    return m


def fuse_hswish(m):
    """paddle2onnx's hardswish with the learnable affine after it, X -> Add(3) -> Clip(0, 6) ->
    Mul(X) [-> Mul(k)] [-> Add(b)], -> one BnHSwish node (attributes k, b): y = k x clip(x+3,0,6)
    + b. BnHSwish is beian's own OpenCV layer (lib/img/bn_dnnlayers.cpp): an activation that
    OpenCV runs inside the convolution before it, on the stripe just computed, where the chain
    was up to four passes over a whole feature map (Power, ReLU6, Eltwise, Power). It computes
    the chain's float operations in the chain's order: the same values. Recogniser 36.6 -> 29.5
    ms at width 320, detector 103 -> 94 ms at 480, classifier 2.4 -> 2.0 ms. The node is not
    standard ONNX: only beian's loader reads the result (check_model runs before this)."""
    g = m.graph
    init = {t.name: t for t in g.initializer}

    users = users_of(g)

    drop, fused = set(), {}
    for n in g.node:
        if n.op_type != "Add" or len(n.input) != 2 or scalar_of(init, n.input[1]) != 3.0:
            continue
        x = n.input[0]
        clip = only_user(g, users, n.output[0])
        if not clip or clip.op_type != "Clip" or len(clip.input) != 1 or \
                (attrs(clip).get("min"), attrs(clip).get("max")) != (0.0, 6.0):
            continue
        mul = only_user(g, users, clip.output[0])
        if not mul or mul.op_type != "Mul" or sorted(mul.input) != sorted([x, clip.output[0]]) or \
                len(users.get(x, [])) != 2:
            continue
        chain, coef = [n, clip, mul], {"Mul": 1.0, "Add": 0.0}
        for op in ("Mul", "Add"):  # the affine's scale, then its shift, each optional
            nxt = only_user(g, users, chain[-1].output[0])
            v = scalar_of(init, nxt.input[1]) if nxt and nxt.op_type == op and nxt.input[0] == chain[-1].output[0] \
                else None
            if v is not None:
                coef[op] = v
                chain.append(nxt)
        k, b = coef["Mul"], coef["Add"]
        drop.update(id(c) for c in chain)
        fused[id(n)] = helper.make_node("BnHSwish", [x], [chain[-1].output[0]], name=n.name + "_hswish", k=k, b=b)
    keep = [fused.get(id(n), n) for n in g.node if id(n) in fused or id(n) not in drop]
    del g.node[:]
    g.node.extend(keep)
    return len(fused)


def fold_deconv(m):
    """The bias Add and BatchNormalization after each ConvTranspose (the DB head's two 2x2
    upsamplings) -> the ConvTranspose's own weights and bias. OpenCV 4.6 fuses them into the
    deconvolution itself, and fuses them again each time the net is given another input size,
    so a net that had run at one size computed wrong probabilities at the next (off by up to 0.97)
    and had to be rebuilt for every canvas (~0.05 s). Folded here, one net runs at any size and
    gives what a fresh one gives. Same values (to 1e-9)."""
    g = m.graph
    init = {t.name: t for t in g.initializer}
    users = users_of(g)
    drop, done = set(), 0
    for n in g.node:
        if n.op_type != "ConvTranspose" or n.input[1] not in init or len(n.input) > 2:
            continue
        w = numpy_helper.to_array(init[n.input[1]]).astype(np.float64)  # Cin x Cout x kh x kw
        cout, out = w.shape[1], n.output[0]
        b = np.zeros(cout)
        while True:
            x = only_user(g, users, out)
            if x is None:
                break
            if x.op_type == "Add" and x.input[0] == out and x.input[1] in init and \
                    numpy_helper.to_array(init[x.input[1]]).size in (1, cout):
                b = b + numpy_helper.to_array(init[x.input[1]]).astype(np.float64).reshape(-1)
            elif x.op_type == "BatchNormalization" and all(i in init for i in x.input[1:5]):
                sc, bi, mu, var = (numpy_helper.to_array(init[i]).astype(np.float64) for i in x.input[1:5])
                k = sc / np.sqrt(var + attrs(x).get("epsilon", 1e-5))
                w, b = w * k[None, :, None, None], (b - mu) * k + bi
            else:
                break
            drop.add(id(x))
            out = x.output[0]
        if out == n.output[0]:
            continue
        wn, bn = n.name + "_wf", n.name + "_bf"
        g.initializer.extend([numpy_helper.from_array(w.astype(np.float32), wn),
                              numpy_helper.from_array(b.astype(np.float32), bn)])
        n.input[1] = wn
        n.input.append(bn)
        n.output[0] = out
        done += 1
    keep = [n for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(keep)
    return done


def fix_det(src):
    m = onnx.load(src)
    g = m.graph
    consts, keep = {}, []
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = const_value(n)
        else:
            keep.append(n)
    for n in keep:
        if n.op_type == "Clip" and len(n.input) > 1:
            bounds = [float(consts[i]) if i else None for i in list(n.input[1:3])]
            del n.input[1:]
            for name, v in zip(("min", "max"), bounds):
                if v is not None:
                    n.attribute.append(helper.make_attribute(name, v))
    used = {i for n in keep for i in n.input}
    g.initializer.extend(numpy_helper.from_array(np.asarray(v), k) for k, v in sorted(consts.items()) if k in used)
    del g.node[:]
    g.node.extend(keep)
    dims = g.input[0].type.tensor_type.shape.dim
    dims[0].Clear(); dims[0].dim_value = 1
    if fold_deconv(m) != 2:
        raise SystemExit("fix-ppocr: the detector's head is not two ConvTranspose with bias and BatchNormalization")
    if fuse_hswish(m) != 24:
        raise SystemExit("fix-ppocr: the detector's hardswish activations are not the 24 expected")
    if depthwise_layers(m) != 8 or se_products(m) != 10:
        raise SystemExit("fix-ppocr: the detector's 5x5 depthwise convolutions or SE products are not the 8 and 10 expected")
    return m  # not checker-valid (opset-11 Clip with attributes), but what OpenCV 4.6 reads


def fix_cls(src):
    m = onnx.load(src)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    for d, v in zip(dims, (1, 3, 48, 192)):
        d.Clear(); d.dim_value = v
    for d in m.graph.output[0].type.tensor_type.shape.dim:
        if d.dim_param:
            d.Clear()
    while fold(m):
        pass
    onnx.checker.check_model(m)
    if depthwise_layers(m) != 8:
        raise SystemExit("fix-ppocr: the classifier's 5x5 depthwise convolutions are not the 8 expected")
    if fuse_hswish(m) != 18:
        raise SystemExit("fix-ppocr: the classifier's hardswish activations are not the 18 expected")
    return m


def main():
    if len(sys.argv) == 4 and sys.argv[1] in ("--det", "--cls"):
        m = (fix_det if sys.argv[1] == "--det" else fix_cls)(sys.argv[2])
        onnx.save(m, sys.argv[3])
        print("fix-ppocr: wrote %s" % sys.argv[3], file=sys.stderr)
        return
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, dest = sys.argv[1], sys.argv[2]
    for w in sys.argv[3:]:
        m = fix(src, int(w))
        path = "%s/ppocr_rec_%d.onnx" % (dest, int(w))
        onnx.save(m, path)
        print("fix-ppocr: wrote %s" % path, file=sys.stderr)


if __name__ == "__main__":
    main()
