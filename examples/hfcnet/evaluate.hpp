#pragma once
// One pass of a network over a loader in inference mode: the mean loss and the confusion matrix.
#include <cmath>
#include <variant>

#include <hfc/data/all.hpp>
#include <hfc/components.hpp>

#include "model.hpp"

namespace hfcnet {

struct Evaluation {
  double loss = 0;  // mean cross-entropy over the samples
  hfc::ConfusionMatrix confusion;
};

template <class B>
Evaluation evaluate(NetworkOn<B>& network, hfc::BatchLoader& loader, int classes, std::uint64_t epoch = 0) {
  Evaluation out{0, hfc::ConfusionMatrix(classes)};
  double loss_sum = 0;
  std::visit(
      [&](auto& net) {
        net.eval();
        hfc::NoGradGuard no_grad;
        loader.start_epoch(epoch);
        while (auto batch = loader.next()) {
          const auto logits = net.forward(on_backend<B>(batch->images));
          loss_sum += hfc::cross_entropy(logits, on_backend<B>(batch->labels)).loss * double(batch->labels.numel());
          out.confusion.add(on_host(logits), batch->labels);
        }
      },
      network);
  out.loss = out.confusion.total() ? loss_sum / double(out.confusion.total()) : std::nan("");
  return out;
}

}  // namespace hfcnet
