#pragma once
// Optimisers with PyTorch's update rules: Adam, AdamW and SGD (momentum, dampening, Nesterov,
// weight decay), over parameter groups that each carry their own lr and weight decay.
//
// An optimiser holds pointers to the parameters (gathered with hfc::parameters(module)), so the
// module must outlive it and stay where it is.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hfc/backend/update_rules.hpp"
#include "hfc/core/module.hpp"

namespace hfc {

template <Scalar T, Backend B>
struct ParamGroup {
  std::vector<Parameter<T, B>*> params;
  double lr = 1e-3;
  double weight_decay = 0.0;
};

// Every parameter of a module, in for_each_parameter order.
template <Module M>
std::vector<Parameter<typename M::value_type, typename M::backend_type>*> parameters(M& m) {
  std::vector<Parameter<typename M::value_type, typename M::backend_type>*> out;
  m.for_each_parameter([&](std::string_view, auto& p) { out.push_back(&p); });
  return out;
}

template <Scalar T, Backend B>
class Optimizer {
 public:
  std::vector<ParamGroup<T, B>>& param_groups() { return groups_; }
  const std::vector<ParamGroup<T, B>>& param_groups() const { return groups_; }
  void add_param_group(ParamGroup<T, B> g) {
    check(g.lr >= 0, "optimizer: lr must be >= 0, got ", g.lr);
    check(g.weight_decay >= 0, "optimizer: weight_decay must be >= 0, got ", g.weight_decay);
    // A step updates every tensor at once (update_tensors_kernel), so a parameter listed twice
    // would be updated twice at the same time. torch.optim refuses one in two groups (and warns
    // about one listed twice in a group); here both are errors. step() also checks storage.
    std::unordered_set<const Parameter<T, B>*> seen;
    for (const auto& other : groups_) seen.insert(other.params.begin(), other.params.end());
    for (const auto* p : g.params) {
      check(p != nullptr, "optimizer: a null parameter");
      check(seen.insert(p).second, "optimizer: parameter '", p->name, "' appears more than once");
    }
    groups_.push_back(std::move(g));
  }
  // Every gradient to zero, in one pass (one launch on the GPU).
  void zero_grad() {
    std::vector<update_rules::ZeroFill<T>> items;
    for (auto& g : groups_)
      for (auto* p : g.params) items.push_back({p->grad.data(), p->grad.numel()});
    update_tensors_kernel(B{}, std::span<const update_rules::ZeroFill<T>>(items));
  }
  // The learning rate of the first group, and a setter for all of them (what schedulers move).
  double lr() const { return groups_.empty() ? 0.0 : groups_.front().lr; }
  void set_lr(double lr) {
    for (auto& g : groups_) g.lr = lr;
  }

 protected:
  // Before a step updates `p` beside the others: its gradient matches it, and no other parameter
  // of the step shares its storage (added twice through param_groups(), or tied weights), which
  // the one pass over all of them would update twice at the same time.
  static void check_updatable(const Parameter<T, B>& p, std::unordered_set<const T*>& storage) {
    check(p.grad.numel() == p.value.numel(), "optimizer: parameter '", p.name, "' has ", p.value.numel(),
          " values but a gradient of ", p.grad.numel());
    check(p.value.numel() == 0 || storage.insert(p.value.data()).second, "optimizer: parameter '", p.name,
          "' shares its storage with another parameter of the step (listed twice, or tied weights)");
  }
  std::vector<ParamGroup<T, B>> groups_;
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

// torch.optim.Adam, or torch.optim.AdamW with decoupled weight decay.
template <Scalar T, Backend B = cpu>
class Adam : public Optimizer<T, B> {
 public:
  Adam(std::vector<Parameter<T, B>*> params, const AdamOptions& o = {}, bool decoupled_weight_decay = false)
      : o_(o), decoupled_(decoupled_weight_decay) {
    check(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "Adam: betas must be in [0, 1), got (", o.beta1,
          ", ", o.beta2, ")");
    check(o.eps >= 0, "Adam: eps must be >= 0, got ", o.eps);
    this->add_param_group({std::move(params), o.lr, o.weight_decay});
  }

  // Every parameter at once (one launch on the GPU); each keeps its own step count, counted once
  // the update has been queued (a step that throws leaves the counts as they were).
  void step() {
    std::vector<update_rules::AdamTensor<T>> items;
    std::vector<State*> stepped;
    std::unordered_set<const T*> storage;
    for (auto& g : this->groups_)
      for (auto* p : g.params) {
        this->check_updatable(*p, storage);
        auto it = state_.find(p);
        if (it == state_.end())  // the moments are made before they are stored
          it = state_.emplace(p, State{Tensor<T, B>::zeros(p->value.shape()), Tensor<T, B>::zeros(p->value.shape()), 0})
                   .first;
        State& s = it->second;
        items.push_back({p->value.data(), p->grad.data(), s.m.data(), s.v.data(), p->value.numel(),
                         update_rules::AdamStep::at(g.lr, o_.beta1, o_.beta2, o_.eps, g.weight_decay, decoupled_,
                                                    s.step + 1)});
        stepped.push_back(&s);
      }
    update_tensors_kernel(B{}, std::span<const update_rules::AdamTensor<T>>(items));
    for (State* s : stepped) ++s->step;
  }

  struct State {
    Tensor<T, B> m, v;  // exp_avg, exp_avg_sq
    std::int64_t step = 0;
  };
  // Per-parameter state, for checkpoints.
  std::unordered_map<Parameter<T, B>*, State>& state() { return state_; }

 private:
  AdamOptions o_;
  bool decoupled_;
  std::unordered_map<Parameter<T, B>*, State> state_;
};

template <Scalar T, Backend B = cpu>
class AdamW : public Adam<T, B> {
 public:
  // PyTorch's AdamW defaults to weight_decay 0.01.
  AdamW(std::vector<Parameter<T, B>*> params, AdamOptions o = {.weight_decay = 1e-2})
      : Adam<T, B>(std::move(params), o, true) {}
};

struct SgdOptions {
  double lr = 1e-2, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

template <Scalar T, Backend B = cpu>
class Sgd : public Optimizer<T, B> {
 public:
  Sgd(std::vector<Parameter<T, B>*> params, const SgdOptions& o) : o_(o) {
    check(o.momentum >= 0, "SGD: momentum must be >= 0, got ", o.momentum);
    check(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
          "SGD: Nesterov momentum requires a momentum and zero dampening");
    this->add_param_group({std::move(params), o.lr, o.weight_decay});
  }

  // Every parameter at once (one launch on the GPU). A parameter's first step writes its whole
  // momentum buffer (with the gradient, so it starts uninitialised); the buffer is kept once that
  // step has been queued.
  void step() {
    std::vector<update_rules::SgdTensor<T>> items;
    std::vector<std::pair<Parameter<T, B>*, Tensor<T, B>>> started;
    std::unordered_set<const T*> storage;
    for (auto& g : this->groups_)
      for (auto* p : g.params) {
        this->check_updatable(*p, storage);
        auto it = momentum_.find(p);
        const bool fresh = it == momentum_.end();
        if (fresh) started.emplace_back(p, o_.momentum != 0 ? Tensor<T, B>::empty(p->value.shape()) : Tensor<T, B>());
        T* buffer = o_.momentum == 0 ? nullptr : fresh ? started.back().second.data() : it->second.data();
        items.push_back({p->value.data(), p->grad.data(), buffer, p->value.numel(),
                         {g.lr, o_.momentum, o_.dampening, g.weight_decay, o_.nesterov, fresh}});
      }
    update_tensors_kernel(B{}, std::span<const update_rules::SgdTensor<T>>(items));
    for (auto& [p, buffer] : started) momentum_.emplace(p, std::move(buffer));
  }

  // Per-parameter momentum buffers, for checkpoints.
  std::unordered_map<Parameter<T, B>*, Tensor<T, B>>& state() { return momentum_; }

 private:
  SgdOptions o_;
  std::unordered_map<Parameter<T, B>*, Tensor<T, B>> momentum_;
};

}  // namespace hfc
