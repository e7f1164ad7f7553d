// Builds small ONNX models in tests (the ONNX protobuf classes of libonnx-dev), so each import rule
// and each refusal is tested on a graph that shows exactly it.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ampere::testing {

class OnnxBuilder {
 public:
  /// An input "x" of float32 with `dims` (-1: symbolic, named "dim<i>").
  explicit OnnxBuilder(const std::vector<std::int64_t>& dims, int opset = 13) {
    model_.set_ir_version(7);
    model_.set_producer_name("ampere-tests");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    graph()->set_name("test");
    auto* in = graph()->add_input();
    in->set_name("x");
    auto* type = in->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    for (std::size_t i = 0; i < dims.size(); ++i) {
      auto* d = type->mutable_shape()->add_dim();
      if (dims[i] < 0) d->set_dim_param("dim" + std::to_string(i));
      else d->set_dim_value(dims[i]);
    }
  }

  onnx::GraphProto* graph() { return model_.mutable_graph(); }

  /// A float initializer of zeros with `dims`; returns its name.
  std::string weight(const std::string& name, const std::vector<std::int64_t>& dims) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    std::int64_t n = 1;
    for (auto d : dims) {
      t->add_dims(d);
      n *= d;
    }
    t->set_raw_data(std::string(static_cast<std::size_t>(n) * 4, '\0'));
    return name;
  }
  /// A float scalar or vector initializer with given values.
  std::string values(const std::string& name, const std::vector<float>& v, bool as_vector = false) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    if (as_vector || v.size() != 1) t->add_dims(static_cast<std::int64_t>(v.size()));
    for (float f : v) t->add_float_data(f);
    return name;
  }
  std::string int64s(const std::string& name, const std::vector<std::int64_t>& v) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(v.size()));
    for (auto i : v) t->add_int64_data(i);
    return name;
  }

  struct Attr {
    std::string name;
    std::vector<std::int64_t> ints;
    bool is_int = false;
    float f = 0;
    bool is_float = false;
  };
  static Attr ints(const std::string& n, std::vector<std::int64_t> v) { return {n, std::move(v), false, 0, false}; }
  static Attr integer(const std::string& n, std::int64_t v) { return {n, {v}, true, 0, false}; }
  static Attr real(const std::string& n, float v) { return {n, {}, false, v, true}; }

  /// Adds a node; returns its first output's name ("<name>_out").
  std::string node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                   const std::vector<Attr>& attrs = {}, int outputs = 1) {
    auto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (int o = 0; o < outputs; ++o) n->add_output(name + (o ? "_out" + std::to_string(o) : "_out"));
    for (const Attr& a : attrs) {
      auto* at = n->add_attribute();
      at->set_name(a.name);
      if (a.is_float) {
        at->set_type(onnx::AttributeProto::FLOAT);
        at->set_f(a.f);
      } else if (a.is_int) {
        at->set_type(onnx::AttributeProto::INT);
        at->set_i(a.ints[0]);
      } else {
        at->set_type(onnx::AttributeProto::INTS);
        for (auto v : a.ints) at->add_ints(v);
      }
    }
    return name + "_out";
  }

  /// Conv (no bias) with a weight of [out, in/groups, k, k].
  std::string conv(const std::string& name, const std::string& in, std::int64_t cin, std::int64_t cout, std::int64_t k,
                   std::int64_t stride = 1, std::int64_t pad = 0, std::int64_t groups = 1) {
    const std::string w = weight(name + ".weight", {cout, cin / groups, k, k});
    return node("Conv", name, {in, w},
                {ints("kernel_shape", {k, k}), ints("strides", {stride, stride}), ints("pads", {pad, pad, pad, pad}),
                 integer("group", groups)});
  }
  std::string batchnorm(const std::string& name, const std::string& in, std::int64_t c) {
    return node("BatchNormalization", name,
                {in, weight(name + ".w", {c}), weight(name + ".b", {c}), weight(name + ".m", {c}), weight(name + ".v", {c})});
  }
  std::string gemm(const std::string& name, const std::string& in, std::int64_t fan_in, std::int64_t out) {
    return node("Gemm", name, {in, weight(name + ".weight", {out, fan_in}), weight(name + ".bias", {out})},
                {integer("transB", 1)});
  }

  /// Marks the graph output and returns the serialized model.
  std::string finish(const std::string& output) {
    auto* out = graph()->add_output();
    out->set_name(output);
    out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = out->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    shape->add_dim()->set_dim_param("classes");
    return model_.SerializeAsString();
  }

 private:
  onnx::ModelProto model_;
};

}  // namespace ampere::testing
