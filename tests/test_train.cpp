#include "support.hpp"

using namespace hfc;

TEST_CASE("cross_entropy: mean of -log softmax, label smoothing, stable for huge logits") {
  Rng rng(61);
  for (double smoothing : {0.0, 0.1}) {
    INFO("label smoothing ", smoothing);
    auto logits = test::random_tensor<double>(Shape{4, 7}, rng, -3, 3);
    logits(3, 2) = 1000.0;  // exp would overflow without the max shift
    const auto labels = Tensor<std::int64_t>::from(Shape{4}, std::vector<std::int64_t>{0, 6, 3, 2});
    const auto r = cross_entropy(logits, labels, smoothing);
    double expected = 0;
    for (std::int64_t i = 0; i < 4; ++i) {
      double mx = -1e300, s = 0;
      for (std::int64_t j = 0; j < 7; ++j) mx = std::max(mx, logits(i, j));
      for (std::int64_t j = 0; j < 7; ++j) s += std::exp(logits(i, j) - mx);
      for (std::int64_t j = 0; j < 7; ++j) {
        const double target = (j == labels(i) ? 1 - smoothing : 0.0) + smoothing / 7;
        expected -= target * (logits(i, j) - mx - std::log(s));
      }
    }
    CHECK(r.loss == doctest::Approx(expected / 4).epsilon(1e-12));
    CHECK(std::isfinite(r.loss));
    logits(3, 2) = 2.0;
    auto loss = [&] { return cross_entropy(logits, labels, smoothing).loss; };
    test::check_gradient("logits", logits, cross_entropy(logits, labels, smoothing).grad, loss, rng);
  }
  const auto bad = Tensor<std::int64_t>::from(Shape{2}, std::vector<std::int64_t>{1, 7});
  CHECK_THROWS_WITH_AS(cross_entropy(Tensor<float>({2, 7}), bad), doctest::Contains("label of sample 1 is outside [0, 7)"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(Tensor<float>({3, 7}), bad), doctest::Contains("labels must have shape [3]"), Error);
}

namespace {
// A single 3-element parameter and the gradients it gets at each step.
const std::vector<std::vector<double>> kGrads = {{0.5, -1.0, 2.0}, {0.1, 0.3, -0.2}, {-0.7, 0.0, 1.5}};
const std::vector<double> kStart = {1.0, -2.0, 0.5};

Parameter<double> make_param() { return Parameter<double>("w", Tensor<double>::from(Shape{3}, kStart)); }
void set_grad(Parameter<double>& p, std::size_t step) {
  for (std::size_t i = 0; i < 3; ++i) p.grad.data()[i] = kGrads[step][i];
}

// One textbook Adam step (bias-corrected moments) of one element; t counts from 1.
struct TextbookAdam {
  AdamOptions o;
  bool decoupled;
  double lr;
  void operator()(double& w, double& m, double& v, double g, int t) const {
    if (decoupled) w *= 1 - lr * o.weight_decay;
    else g += o.weight_decay * w;
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    const double mhat = m / (1 - std::pow(o.beta1, double(t))), vhat = v / (1 - std::pow(o.beta2, double(t)));
    w -= lr * mhat / (std::sqrt(vhat) + o.eps);
  }
};
}  // namespace

TEST_CASE("Adam and AdamW follow PyTorch's update rules") {
  for (bool decoupled : {false, true}) {
    INFO((decoupled ? "AdamW" : "Adam"));
    const AdamOptions o{.lr = 0.1, .beta1 = 0.8, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.05};
    const TextbookAdam textbook{o, decoupled, o.lr};
    auto p = make_param();
    Adam<double> opt({&p}, o, decoupled);
    std::vector<double> w = kStart, m(3, 0), v(3, 0);
    for (std::size_t t = 0; t < kGrads.size(); ++t) {
      set_grad(p, t);
      opt.step();
      for (std::size_t i = 0; i < 3; ++i) {
        textbook(w[i], m[i], v[i], kGrads[t][i], int(t + 1));
        CHECK(p.value(std::int64_t(i)) == doctest::Approx(w[i]).epsilon(1e-12));
      }
    }
  }
  CHECK_THROWS_AS(Adam<double>({}, {.beta1 = 1.0}), Error);
}

TEST_CASE("Adam steps every tensor at once: sizes, an empty one, groups with their own lr and step counts") {
  const AdamOptions o{.lr = 0.1, .beta1 = 0.8, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.05};
  Parameter<double> a("a", Tensor<double>::from(Shape{3}, kStart)), empty("empty", Tensor<double>::zeros(Shape{0})),
      b("b", Tensor<double>::from(Shape{2}, std::vector<double>{0.25, -0.75}));
  Adam<double> opt({&a, &empty}, o);
  std::vector<double> wa = kStart, ma(3, 0), va(3, 0), wb{0.25, -0.75}, mb(2, 0), vb(2, 0);
  const TextbookAdam first{o, false, o.lr}, second{o, false, 0.02};
  for (std::size_t t = 0; t < kGrads.size(); ++t) {
    if (t == 1) opt.add_param_group({{&b}, 0.02, o.weight_decay});  // joins at its own step 1
    set_grad(a, t);
    for (std::size_t i = 0; i < 2; ++i) b.grad.data()[i] = kGrads[t][2 - i];
    opt.step();
    for (std::size_t i = 0; i < 3; ++i) {
      first(wa[i], ma[i], va[i], kGrads[t][i], int(t + 1));
      CHECK(a.value(std::int64_t(i)) == doctest::Approx(wa[i]).epsilon(1e-12));
    }
    for (std::size_t i = 0; t >= 1 && i < 2; ++i) {
      second(wb[i], mb[i], vb[i], kGrads[t][2 - i], int(t));
      CHECK(b.value(std::int64_t(i)) == doctest::Approx(wb[i]).epsilon(1e-12));
    }
  }
  CHECK(opt.state().at(&a).step == 3);
  CHECK(opt.state().at(&b).step == 2);
  opt.zero_grad();
  for (const auto* p : {&a, &b})
    for (double g : p->grad.span()) CHECK(g == 0.0);
}

TEST_CASE("optimizers refuse a parameter listed twice, in one group or across groups, or sharing storage") {
  auto p = make_param();
  Parameter<double> q("q", Tensor<double>::from(Shape{3}, kStart));
  CHECK_THROWS_WITH_AS(Adam<double>({&p, &q, &p}), doctest::Contains("parameter 'w' appears more than once"), Error);
  Sgd<double> opt({&p}, {.lr = 0.1});
  CHECK_THROWS_WITH_AS(opt.add_param_group({{&q, &p}, 0.1, 0.0}), doctest::Contains("parameter 'w' appears more"), Error);
  CHECK(opt.param_groups().size() == 1);
  // Past add_param_group: a parameter pushed through param_groups(), or tied to another's values.
  opt.param_groups().front().params.push_back(&p);
  set_grad(p, 0);
  CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("parameter 'w' shares its storage"), Error);
  CHECK(p.value(0) == kStart[0]);  // nothing was updated
  Parameter<double> tied("tied", q.value);  // a shallow copy: the same storage
  Adam<double> adam({&q, &tied});
  CHECK_THROWS_WITH_AS(adam.step(), doctest::Contains("parameter 'tied' shares its storage"), Error);
  CHECK(adam.state().at(&q).step == 0);  // the counts move only with an update
}

TEST_CASE("SGD: momentum with dampening, Nesterov, weight decay") {
  for (const SgdOptions& o : {SgdOptions{.lr = 0.1}, SgdOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01},
                              SgdOptions{.lr = 0.05, .momentum = 0.8, .weight_decay = 0.1, .nesterov = true}}) {
    auto p = make_param();
    Sgd<double> opt({&p}, o);
    std::vector<double> w = kStart, buf(3, 0);
    for (std::size_t t = 0; t < kGrads.size(); ++t) {
      set_grad(p, t);
      opt.step();
      for (std::size_t i = 0; i < 3; ++i) {
        double d = kGrads[t][i] + o.weight_decay * w[i];
        if (o.momentum != 0) {
          buf[i] = t == 0 ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
          d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
        }
        w[i] -= o.lr * d;
        CHECK(p.value(std::int64_t(i)) == doctest::Approx(w[i]).epsilon(1e-12));
      }
    }
  }
  CHECK_THROWS_WITH_AS(Sgd<double>({}, {.lr = 0.1, .nesterov = true}), doctest::Contains("Nesterov"), Error);
}

TEST_CASE("optimizers gather a module's parameters, zero their gradients and share the lr of groups") {
  HfcAttention<float> att(8);
  auto params = parameters(att);
  CHECK(params.size() == 2);
  Adam<float> opt(params, {.lr = 1e-4});
  att.pointwise.weight.grad.fill(1.f);
  opt.zero_grad();
  for (float g : att.pointwise.weight.grad.span()) CHECK(g == 0.f);
  opt.set_lr(3e-4);
  CHECK(opt.lr() == 3e-4);
}

TEST_CASE("ReduceLROnPlateau: patience, relative threshold, cooldown and min_lr as in PyTorch") {
  auto p = make_param();
  Sgd<double> opt({&p}, {.lr = 1.0});
  ReduceLROnPlateau sched(opt, {.factor = 0.5, .patience = 2, .threshold = 1e-4, .cooldown = 1});
  const std::vector<double> metrics = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.99995 * 0.5};
  const std::vector<double> lrs = {1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25};
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    INFO("epoch ", i);
    sched.step(metrics[i]);
    CHECK(opt.lr() == lrs[i]);
  }
  CHECK(sched.best() == 0.5);       // 0.99995 * best is not better at threshold 1e-4
  CHECK(sched.num_bad_epochs() == 1);

  auto q = make_param();
  Sgd<double> opt2({&q}, {.lr = 1.0});
  ReduceLROnPlateau floor(opt2, {.factor = 0.3, .patience = 0, .min_lr = 0.2});
  floor.step(1.0);
  CHECK(floor.step(2.0));
  CHECK(opt2.lr() == doctest::Approx(0.3));
  CHECK(floor.step(2.0));
  CHECK(opt2.lr() == 0.2);  // clamped at min_lr
  CHECK_FALSE(floor.step(2.0));
  CHECK_THROWS_AS(ReduceLROnPlateau(opt2, {.factor = 1.5}), Error);
}
