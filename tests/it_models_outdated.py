"""A text detector prepared by an older scripts/fix-ppocr.py is refused, with the reason and the
fix in the log, and the stages go on without it (document edges, zones). Such a detector
computed wrong boxes once its one net changed canvas side (a licence after a card), which this
binary no longer guards against by rebuilding the net. The stand-in model here is a tiny
detector-shaped ONNX graph (1x3xHxW -> 1x1xHxW) with none of beian's own layers, written with
Debian's python3-onnx; the real models are not needed."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, check, fail, require_binaries  # noqa: E402

require_binaries("beian")
try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import cv2
except ImportError as e:
    print("SKIP: python3-onnx, python3-numpy or python3-opencv missing (%s)" % e)
    sys.exit(77)

work = tempfile.mkdtemp(prefix="beian-outdated-")
try:
    models = os.path.join(work, "models")
    os.makedirs(models)
    w = numpy_helper.from_array(np.full((1, 3, 3, 3), 0.01, np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                           helper.make_node("Sigmoid", ["c"], ["y"])], "det",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), os.path.join(models, "ppocr_det.onnx"))

    img = os.path.join(work, "card.png")
    page = np.full((500, 800, 3), 235, np.uint8)
    cv2.rectangle(page, (60, 60), (740, 440), (90, 90, 90), 3)
    cv2.putText(page, "NAME 12345", (120, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (20, 20, 20), 3)
    cv2.imwrite(img, page)

    env = dict(os.environ, BEIAN_MODELS=models)
    r = subprocess.run([os.path.join(BIN, "beian"), "check", "--doc", "id-card:front=" + img, "--json"],
                       capture_output=True, timeout=300, env=env)
    err = r.stderr.decode(errors="replace")
    check("older scripts/fix-ppocr.py" in err and "fetch-models.sh" in err,
          "the log says the detector is outdated and how to fix it: " + err[-1500:])
    check("text detector unavailable" in err, "and that the stages go on without it: " + err[-1500:])
    try:
        doc = json.loads(r.stdout.decode())
    except ValueError:
        fail("no result document (exit %d): %s" % (r.returncode, err[-1500:]))
    check(len(doc.get("documents", [])) == 1 and doc.get("verdict"),
          "a result with a verdict all the same: %s" % r.stdout.decode()[:500])
finally:
    shutil.rmtree(work, ignore_errors=True)
print("it_models_outdated: ok")
