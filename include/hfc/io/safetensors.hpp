#pragma once
// safetensors read and write: the byte format (safetensors_format.hpp), named tensors in files
// (safetensors_file.hpp) and modules' weights under torchvision's names (weights.hpp).
// docs/formats.md describes the choices.
#include "hfc/io/safetensors_file.hpp"
#include "hfc/io/safetensors_format.hpp"
#include "hfc/io/weights.hpp"
