/* Moved to core/bn_validate.h (the broker's cross-document checks use the validators). */
#include "core/bn_validate.h"
