// The only LibTorch translation unit: builds a variant network from its spec and trains it on
// synthetic data (docs/method.md §5). Kept alone because one LibTorch TU costs ~12 s to compile.
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "agent/trainer/cuda_device.hpp"
#include "agent/trainer/torch_trainer.hpp"
#include "common/error.hpp"
#include "common/layer_shapes.hpp"

namespace ampere {
namespace {

namespace nn = torch::nn;

struct LstmLayerImpl : nn::Module {
  LstmLayerImpl(std::int64_t in, std::int64_t hidden, std::int64_t layers)
      : lstm(register_module("lstm", nn::LSTM(nn::LSTMOptions(in, hidden).num_layers(layers).batch_first(true)))) {}
  torch::Tensor forward(const torch::Tensor& x) { return std::get<0>(lstm->forward(x)); }
  nn::LSTM lstm;
};
TORCH_MODULE(LstmLayer);

/// torch's encoder layer reads [T, B, d]; our tensors are batch-first.
struct EncoderLayerImpl : nn::Module {
  EncoderLayerImpl(std::int64_t d, std::int64_t nhead, std::int64_t ff)
      : layer(register_module("layer", nn::TransformerEncoderLayer(
                                           nn::TransformerEncoderLayerOptions(d, nhead).dim_feedforward(ff)))) {}
  torch::Tensor forward(const torch::Tensor& x) { return layer->forward(x.transpose(0, 1)).transpose(0, 1); }
  nn::TransformerEncoderLayer layer;
};
TORCH_MODULE(EncoderLayer);

/// relu6(x + 3) / 6, and x times it (MobileNetV3's hard sigmoid and hard swish).
struct HardSigmoidImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return torch::nn::functional::relu6(x + 3) / 6; }
};
TORCH_MODULE(HardSigmoid);
struct HardSwishImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x * torch::nn::functional::relu6(x + 3) / 6; }
};
TORCH_MODULE(HardSwish);

/// The mean over H and W: [B, C, H, W] → [B, C].
struct GlobalAvgPoolImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x.mean({2, 3}); }
};
TORCH_MODULE(GlobalAvgPool);

struct LastStepImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x.select(1, x.size(1) - 1); }
};
TORCH_MODULE(LastStep);

struct ResidualImpl : nn::Module {
  ResidualImpl(nn::Sequential inner_, nn::Sequential projection_)
      : inner(register_module("inner", inner_)), projection(projection_) {
    if (projection) register_module("projection", projection);
  }
  torch::Tensor forward(const torch::Tensor& x) { return inner->forward(x) + (projection ? projection->forward(x) : x); }
  nn::Sequential inner;
  nn::Sequential projection{nullptr};
};
TORCH_MODULE(Residual);

nn::AnyModule build_layer(const LayerSpec& layer, const TensorShape& in, std::int64_t width);

nn::AnyModule build_residual(const LayerSpec& layer, const TensorShape& in, std::int64_t width) {
  nn::Sequential inner;
  TensorShape x = in;
  for (const LayerSpec& l : layer.inner) {
    const std::int64_t w = resolved_width(l, x, inner_width(l, width));
    inner->push_back(build_layer(l, x, w));
    x = infer_layer(l, x, w).out;
  }
  nn::Sequential projection{nullptr};
  if (!(x == in)) {
    const std::int64_t stride_h = in.dims[1] / x.dims[1], stride_w = in.dims[2] / x.dims[2];
    projection = nn::Sequential(
        nn::Conv2d(nn::Conv2dOptions(in.dims[0], x.dims[0], 1).stride({stride_h, stride_w}).bias(false)),
        nn::BatchNorm2d(x.dims[0]));
  }
  return nn::AnyModule(Residual(inner, projection));
}

nn::AnyModule build_layer(const LayerSpec& layer, const TensorShape& in, std::int64_t width) {
  switch (layer.type) {
    case LayerType::Conv2d:
      return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in.dims[0], width, {layer.kernel[0], layer.kernel[1]})
                                          .stride({layer.stride[0], layer.stride[1]})
                                          .padding({layer.padding[0], layer.padding[1]})
                                          .dilation({layer.dilation[0], layer.dilation[1]})
                                          .groups(conv_groups(layer, in.dims[0]))
                                          .bias(layer.bias)));
    case LayerType::Linear: return nn::AnyModule(nn::Linear(nn::LinearOptions(in.channels(), width).bias(layer.bias)));
    case LayerType::Lstm: return nn::AnyModule(LstmLayer(in.dims[1], width, layer.num_layers));
    case LayerType::TransformerEncoder:
      return nn::AnyModule(EncoderLayer(in.dims[1], layer.nhead, layer.dim_feedforward));
    case LayerType::Embedding: return nn::AnyModule(nn::Embedding(layer.vocab, width));
    case LayerType::Residual: return build_residual(layer, in, width);
    case LayerType::Relu: return nn::AnyModule(nn::ReLU());
    case LayerType::Gelu: return nn::AnyModule(nn::GELU());
    case LayerType::Tanh: return nn::AnyModule(nn::Tanh());
    case LayerType::Sigmoid: return nn::AnyModule(nn::Sigmoid());
    case LayerType::Relu6: return nn::AnyModule(nn::ReLU6());
    case LayerType::HardSigmoid: return nn::AnyModule(HardSigmoid());
    case LayerType::HardSwish: return nn::AnyModule(HardSwish());
    case LayerType::GlobalAvgPool: return nn::AnyModule(GlobalAvgPool());
    case LayerType::MaxPool2d:
      return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions({layer.kernel[0], layer.kernel[1]})
                                             .stride({layer.stride[0], layer.stride[1]})
                                             .padding({layer.padding[0], layer.padding[1]})));
    case LayerType::AvgPool2d:
      return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions({layer.kernel[0], layer.kernel[1]})
                                             .stride({layer.stride[0], layer.stride[1]})
                                             .padding({layer.padding[0], layer.padding[1]})));
    case LayerType::AdaptiveAvgPool2d:
      return nn::AnyModule(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({layer.output[0], layer.output[1]})));
    case LayerType::Flatten: return nn::AnyModule(nn::Flatten());
    case LayerType::Dropout: return nn::AnyModule(nn::Dropout(layer.p));
    case LayerType::BatchNorm2d: return nn::AnyModule(nn::BatchNorm2d(in.dims[0]));
    case LayerType::LayerNorm: return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({in.dims.back()})));
    case LayerType::LastStep: return nn::AnyModule(LastStep());
  }
  throw std::logic_error("build_layer: unhandled layer type");
}

/// "cpu", "cuda" or "cuda:N" as a torch device; throws InputError for another, or for CUDA that
/// this build or machine lacks.
torch::Device parse_device(const std::string& text) {
  const bool known = text == "cpu" || text == "cuda" ||
                     (text.rfind("cuda:", 0) == 0 && text.size() > 5 &&
                      text.find_first_not_of("0123456789", 5) == std::string::npos);
  AMPERE_REQUIRE(known, "unknown device '", text, "' (cpu, cuda, cuda:N)");
  torch::Device device(text);
  if (device.is_cuda()) {
    AMPERE_REQUIRE(torch::cuda::is_available(), "--device ", text,
                   ": no CUDA here (this LibTorch build has no CUDA, or no GPU is visible); build the trainer against a "
                   "CUDA LibTorch (CMAKE_PREFIX_PATH, docs/operations.md)");
    const int index = device.has_index() ? device.index() : 0;
    AMPERE_REQUIRE(index < static_cast<int>(torch::cuda::device_count()), "--device ", text, ": only ",
                   torch::cuda::device_count(), " CUDA device(s) visible");
  }
  return device;
}

class TorchTrainer final : public Trainer {
 public:
  TorchTrainer(const TorchOptions& options, Meter& meter)
      : threads_(options.threads), device_(parse_device(options.device)), meter_(meter) {
    AMPERE_REQUIRE(options.threads >= 1, "--threads must be at least 1, got ", options.threads);
    torch::set_num_threads(options.threads);
  }

  Measurement measure(const ModelSpec& model, const JobSettings& settings) override {
    AMPERE_REQUIRE(!model.is_family(), model.name, ": the agent trains concrete models, not families");
    AMPERE_REQUIRE(model.dtype == "float32" || model.dtype == "float64", model.name, ": dtype ", model.dtype,
                   " training is not supported by this trainer (float32, float64)");
    validate_repeat_rule(settings.repeats);
    torch::manual_seed(settings.seed);
    const auto dtype = model.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
    const std::vector<LayerShape> shapes = infer_shapes(model);
    nn::Sequential net;
    for (std::size_t i = 0; i < model.layers.size(); ++i)
      net->push_back(build_layer(model.layers[i], shapes[i].in,
                                 resolved_width(model.layers[i], shapes[i].in, model.layers[i].width.min)));
    net->to(device_, dtype);
    net->train();

    const TensorShape input = input_tensor(model);
    std::vector<std::int64_t> dims{model.batch_size};
    dims.insert(dims.end(), input.dims.begin(), input.dims.end());
    torch::Tensor data;
    if (input.form == TensorForm::Tokens) {
      const auto vocab = std::find_if(model.layers.begin(), model.layers.end(),
                                      [](const LayerSpec& l) { return l.type == LayerType::Embedding; })->vocab;
      data = torch::randint(vocab, dims, torch::kLong).to(device_);
    } else {
      data = torch::randn(dims, torch::TensorOptions().dtype(dtype)).to(device_);
    }
    const torch::Tensor labels = torch::randint(model.classes, {model.batch_size}, torch::kLong).to(device_);
    torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01));
    auto step = [&] {
      optimizer.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(data), labels);
      loss.backward();
      optimizer.step();
    };
    using Clock = std::chrono::steady_clock;
    // On CUDA the host only queues kernels: wait for the device before every clock read.
    auto now = [&] {
      if (device_.is_cuda()) torch::cuda::synchronize(device_.has_index() ? device_.index() : 0);
      return Clock::now();
    };
    for (std::uint32_t i = 0; i < settings.warmup; ++i) step();
    std::uint32_t iterations = settings.iterations;
    if (iterations == 0) {
      // Enough iterations for one window (timed on two extra steps), at least 10. The window
      // follows the meter unless the job names one: a fuel gauge needs seconds, a clock does not.
      const double window = settings.window_seconds > 0 ? settings.window_seconds : default_window_seconds(meter_.source());
      const auto t0 = now();
      step();
      step();
      const double per_step = std::chrono::duration<double>(now() - t0).count() / 2;
      iterations = static_cast<std::uint32_t>(std::max(10.0, std::ceil(window / std::max(per_step, 1e-6))));
    }
    Measurement m;
    m.meter = meter_.source();
    m.iterations = iterations;
    m.threads = static_cast<std::uint32_t>(threads_);
    for (const torch::Tensor& p : net->parameters()) m.parameters += p.numel();
    m.idle_watts = std::nan("");
    // Repeats until the rule is satisfied: on time, and on energy too when a meter reads it live.
    const bool energy_live = reads_energy_live(m.meter);
    while (!repeats_suffice(m.seconds_per_iteration, settings.repeats) ||
           (energy_live && !repeats_suffice(m.joules_per_iteration, settings.repeats))) {
      now();  // nothing queued from before runs inside the window
      meter_.begin();
      const auto start = now();
      for (std::uint32_t i = 0; i < iterations; ++i) step();
      const double seconds = std::chrono::duration<double>(now() - start).count();
      const double joules = meter_.end(seconds);
      if (const auto conditions = meter_.window_conditions()) m.windows.push_back(*conditions);
      m.seconds_per_iteration.push_back(seconds / iterations);
      m.joules_per_iteration.push_back(joules / iterations);
    }
    return m;
  }

  std::string backend() const override { return "torch"; }
  std::vector<std::pair<std::string, std::string>> libraries() const override {
    return {{"libtorch", TORCH_VERSION}};
  }

 private:
  int threads_;
  torch::Device device_;
  Meter& meter_;
};

}  // namespace

TrainerPtr make_torch_trainer(const TorchOptions& options, Meter& meter) {
  return std::make_unique<TorchTrainer>(options, meter);
}

TrainerInfo torch_trainer_info(const TorchOptions& options) {
  const torch::Device device = parse_device(options.device);
  TrainerInfo info;
  info.backend = "torch";
  info.libraries = {{"libtorch", TORCH_VERSION}};
  info.device = device.is_cuda() ? "cuda:" + std::to_string(device.has_index() ? device.index() : 0) : "cpu";
  if (device.is_cuda()) {
    const CudaDeviceFacts facts = cuda_device_facts(device.has_index() ? device.index() : 0);
    info.device_name = facts.name;
    info.device_uuid = facts.uuid;
  }
  info.threads = options.threads;
  info.pid = static_cast<long>(getpid());
  return info;
}

const char* libtorch_version() { return TORCH_VERSION; }

}  // namespace ampere
