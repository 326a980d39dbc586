#pragma once
// hfc::Tensor<T, B>: a dense, row-major, contiguous N-d array whose storage lives where the
// backend B says (host memory for hfc::cpu, device memory for hfc::cuda).
//
// Copies share storage, as torch.Tensor does: `Tensor b = a;` aliases a, and layers keep
// their inputs for backward without copying them. clone() makes an independent copy.
//
// The storage hooks are found by argument-dependent lookup on the tag, so each backend
// defines them in its own namespace (backend/cpu/memory.hpp, backend/cuda/memory.cuh):
//   void* allocate_bytes(B, std::size_t);   void free_bytes(B, void*, std::size_t);
//   void fill_n(B, T*, std::int64_t, T);    void copy_n(B, const T*, std::int64_t, T*);
//   void transfer(From, To, const T*, std::int64_t, T*);   // between backends
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "hfc/core/backend.hpp"
#include "hfc/core/error.hpp"
#include "hfc/core/shape.hpp"

namespace hfc {

template <Element T, Backend B = cpu>
class Tensor {
 public:
  using value_type = T;
  using backend = B;

  // An undefined tensor: no storage, rank 0. defined() is false.
  Tensor() = default;

  // A zero-filled tensor of the given shape.
  explicit Tensor(const Shape& shape) : Tensor(empty(shape)) { fill(T(0)); }
  Tensor(std::initializer_list<std::int64_t> dims) : Tensor(Shape(dims)) {}

  // Uninitialised storage: for outputs that a kernel overwrites completely.
  static Tensor empty(const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    t.defined_ = true;
    const auto n = shape.numel();
    if (n > 0) {
      const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
      T* p = static_cast<T*>(allocate_bytes(B{}, bytes));
      t.storage_ = std::shared_ptr<T>(p, [bytes](T* q) { free_bytes(B{}, q, bytes); });
    }
    return t;
  }
  static Tensor zeros(const Shape& shape) { return Tensor(shape); }
  static Tensor full(const Shape& shape, T value) {
    Tensor t = empty(shape);
    t.fill(value);
    return t;
  }
  // Copies host values into a new tensor of this backend.
  static Tensor from(const Shape& shape, std::span<const T> values) {
    check(static_cast<std::int64_t>(values.size()) == shape.numel(), "Tensor::from: ",
          values.size(), " values given for shape ", shape, " (", shape.numel(), " elements)");
    Tensor t = empty(shape);
    if (!values.empty()) transfer(cpu{}, B{}, values.data(), shape.numel(), t.data());
    return t;
  }
  static Tensor from(const Shape& shape, const std::vector<T>& values) {
    return from(shape, std::span<const T>(values));
  }

  bool defined() const { return defined_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t size(int d) const { return shape_.at(d); }
  std::int64_t numel() const { return shape_.numel(); }

  T* data() { return storage_.get(); }
  const T* data() const { return storage_.get(); }

  // Host views (cpu backend only).
  std::span<T> span() requires HostBackend<B> { return {data(), static_cast<std::size_t>(numel())}; }
  std::span<const T> span() const requires HostBackend<B> {
    return {data(), static_cast<std::size_t>(numel())};
  }
  template <class... I>
  T& operator()(I... index) requires HostBackend<B> { return data()[offset(index...)]; }
  template <class... I>
  const T& operator()(I... index) const requires HostBackend<B> { return data()[offset(index...)]; }

  void fill(T value) {
    if (numel() > 0) fill_n(B{}, data(), numel(), value);
  }

  Tensor clone() const {
    Tensor t = empty(shape_);
    if (numel() > 0) copy_n(B{}, data(), numel(), t.data());
    return t;
  }

  // The same storage seen with another shape of equal element count.
  Tensor reshape(const Shape& shape) const {
    check(shape.numel() == numel(), "cannot reshape a tensor of shape ", shape_, " (", numel(),
          " elements) to ", shape, " (", shape.numel(), " elements)");
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }

  // Rows [start, start + length) of the first dimension, sharing this tensor's storage (a view, as
  // torch.narrow(t, 0, start, length)): writes through either show in both.
  Tensor narrow(std::int64_t start, std::int64_t length) const {
    check(rank() >= 1, "cannot narrow a tensor of rank 0");
    check(start >= 0 && length >= 0 && start + length <= size(0), "narrow: rows [", start, ", ", start + length,
          ") of a tensor of shape ", shape_);
    Tensor t = *this;
    t.shape_ = Shape{length} + shape_.drop_front(1);
    const std::int64_t row = size(0) > 0 ? numel() / size(0) : 0;
    if (t.numel() > 0) t.storage_ = std::shared_ptr<T>(storage_, storage_.get() + start * row);
    else t.storage_.reset();
    return t;
  }

  // A copy on another backend (or a clone on the same one).
  template <Backend To>
  Tensor<T, To> to() const {
    auto t = Tensor<T, To>::empty(shape_);
    if (numel() > 0) transfer(B{}, To{}, data(), numel(), t.data());
    return t;
  }
  std::vector<T> to_vector() const {
    std::vector<T> v(static_cast<std::size_t>(numel()));
    if (numel() > 0) transfer(B{}, cpu{}, data(), numel(), v.data());
    return v;
  }

  // True when both tensors view the same allocation (at any offset: a narrowed view shares it).
  bool shares_storage_with(const Tensor& other) const {
    return storage_ && !storage_.owner_before(other.storage_) && !other.storage_.owner_before(storage_);
  }

 private:
  template <class... I>
  std::int64_t offset(I... index) const {
    static_assert((std::is_integral_v<I> && ...), "tensor indices must be integers");
    constexpr int n = sizeof...(I);
    const std::int64_t idx[] = {static_cast<std::int64_t>(index)...};
    if (n != rank()) fail("tensor of shape ", shape_, " indexed with ", n, " indices");
    std::int64_t off = 0;
    for (int d = 0; d < n; ++d) off = off * shape_[d] + idx[d];
    return off;
  }

  std::shared_ptr<T> storage_;
  Shape shape_;
  bool defined_ = false;
};

// Checks used by every op front end: rank, exact shape, and no zero extent.
template <class T, class B>
void check_rank(const Tensor<T, B>& t, int rank, const char* what) {
  check(t.defined(), what, " is an undefined tensor");
  check(t.rank() == rank, what, " must have rank ", rank, ", got shape ", t.shape());
  check(!t.shape().has_zero_extent(), what, " has a zero-size dimension: shape ", t.shape());
}
template <class T, class B>
void check_shape(const Tensor<T, B>& t, const Shape& expected, const char* what) {
  check(t.defined(), what, " is an undefined tensor");
  check(t.shape() == expected, what, " must have shape ", expected, ", got ", t.shape());
}

}  // namespace hfc
