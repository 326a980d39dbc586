#pragma once
// Grad-CAM (Selvaraju et al. 2017), as the paper's Fig. 9 shows it: the last conv block's feature
// maps A_c weighted by the spatial mean of their gradient for one class score,
//     cam = relu(sum_c alpha_c A_c),  alpha_c = mean over (y, x) of d score / d A_c(y, x).
// Works with any network that splits into forward_features / forward_head / backward_head
// (ResNet18, MobileNetV2). Maps come at the features' resolution; upsample them for display.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "hfc/core/grad_mode.hpp"
#include "hfc/core/tensor.hpp"
#include "hfc/train/metrics.hpp"

namespace hfc {

// features and their gradient [N, C, h, w] -> cam [N, 1, h, w].
template <Scalar T>
Tensor<T, cpu> grad_cam_map(const Tensor<T, cpu>& features, const Tensor<T, cpu>& d_features) {
  check_rank(features, 4, "grad_cam_map: features");
  check_shape(d_features, features.shape(), "grad_cam_map: gradient");
  const std::int64_t n = features.size(0), c = features.size(1), plane = features.size(2) * features.size(3);
  Tensor<T, cpu> cam(Shape{n, 1, features.size(2), features.size(3)});
  for (std::int64_t i = 0; i < n; ++i) {
    T* out = cam.data() + i * plane;
    for (std::int64_t k = 0; k < c; ++k) {
      const T* a = features.data() + (i * c + k) * plane;
      const T* g = d_features.data() + (i * c + k) * plane;
      double alpha = 0;
      for (std::int64_t p = 0; p < plane; ++p) alpha += g[p];
      alpha /= double(plane);
      for (std::int64_t p = 0; p < plane; ++p) out[p] += T(alpha) * a[p];
    }
    for (std::int64_t p = 0; p < plane; ++p) out[p] = std::max(out[p], T(0));
  }
  return cam;
}

template <Scalar T>
struct GradCam {
  Tensor<T, cpu> cam;                  // [N, 1, h, w], >= 0
  Tensor<T, cpu> logits;               // [N, K]
  std::vector<std::int64_t> classes;   // the class each map explains
};

// Grad-CAM of `images` for the given class of each image, or for its predicted class where the
// list is empty or holds -1. Runs the network as it is (call net.eval() first for inference
// behaviour). The head keeps its forward for the one backward pass; the features keep nothing.
template <class Net, Scalar T = typename Net::value_type>
GradCam<T> grad_cam(Net& net, const Tensor<T, cpu>& images, std::vector<std::int64_t> classes = {}) {
  Tensor<T, cpu> features;
  {
    NoGradGuard no_grad;
    features = net.forward_features(images);
  }
  GradCam<T> out;
  out.logits = net.forward_head(features);
  const std::int64_t n = out.logits.size(0), k = out.logits.size(1);
  check(classes.empty() || std::int64_t(classes.size()) == n, "grad_cam: ", classes.size(), " classes for ", n,
        " images");
  const auto predicted = argmax_rows(out.logits);
  classes.resize(std::size_t(n), -1);
  Tensor<T, cpu> d_logits(out.logits.shape());
  for (std::int64_t i = 0; i < n; ++i) {
    auto& c = classes[std::size_t(i)];
    if (c < 0) c = predicted[std::size_t(i)];
    check(c < k, "grad_cam: class ", c, " is outside 0..", k - 1);
    d_logits(i, c) = T(1);
  }
  out.cam = grad_cam_map(features, net.backward_head(d_logits));
  out.classes = std::move(classes);
  return out;
}

}  // namespace hfc
