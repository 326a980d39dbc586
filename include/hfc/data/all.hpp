#pragma once
// The data layer: image files, the dataset readers, splits, transforms, the batch loader and the
// synthetic set. Tensors come out on the cpu backend, whose storage hooks the including program
// must see: include <hfc/hfc.hpp> (or hfc/backend/cpu/memory.hpp) as well.
#include "hfc/data/ckplus.hpp"
#include "hfc/data/dataset.hpp"
#include "hfc/data/fer2013.hpp"
#include "hfc/data/image_folder.hpp"
#include "hfc/data/jaffe.hpp"
#include "hfc/data/loader.hpp"
#include "hfc/data/seed.hpp"
#include "hfc/data/split.hpp"
#include "hfc/data/synthetic.hpp"
#include "hfc/data/transform.hpp"
#include "hfc/io/image.hpp"
