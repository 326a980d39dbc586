#pragma once
// torch.optim.lr_scheduler.ReduceLROnPlateau, mode "min", threshold mode "rel".
#include <algorithm>
#include <limits>

#include "hfc/core/error.hpp"

namespace hfc {

struct PlateauOptions {
  double factor = 0.1;
  int patience = 10;
  double threshold = 1e-4;  // relative: better means below best * (1 - threshold)
  int cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;  // changes of lr smaller than this are skipped
};

template <class Opt>
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Opt& optimizer, const PlateauOptions& o = {}) : optimizer_(&optimizer), o_(o) {
    check(o.factor > 0 && o.factor < 1, "ReduceLROnPlateau: factor must be in (0, 1), got ", o.factor);
    check(o.patience >= 0 && o.cooldown >= 0, "ReduceLROnPlateau: patience and cooldown must be >= 0");
  }

  // Feeds one epoch's metric (validation loss); returns whether the learning rate was reduced.
  bool step(double metric) {
    if (metric < best_ * (1 - o_.threshold)) {
      best_ = metric;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      bad_epochs_ = 0;
    }
    if (bad_epochs_ <= o_.patience) return false;
    bool reduced = false;
    for (auto& g : optimizer_->param_groups()) {
      const double next = std::max(g.lr * o_.factor, o_.min_lr);
      if (g.lr - next > o_.eps) {
        g.lr = next;
        reduced = true;
      }
    }
    cooldown_counter_ = o_.cooldown;
    bad_epochs_ = 0;
    return reduced;
  }

  double best() const { return best_; }
  int num_bad_epochs() const { return bad_epochs_; }
  int cooldown_counter() const { return cooldown_counter_; }
  // For resuming: restore what step() has accumulated.
  void restore(double best, int bad_epochs, int cooldown_counter) {
    best_ = best;
    bad_epochs_ = bad_epochs;
    cooldown_counter_ = cooldown_counter;
  }

 private:
  Opt* optimizer_;
  PlateauOptions o_;
  double best_ = std::numeric_limits<double>::infinity();
  int bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace hfc
