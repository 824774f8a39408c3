// Fused CPU kernels for the pointwise MLPs of PointMLP-style backbones.
//
// 1. Training-mode BatchNorm + (residual) + ReLU on (R, C) float32 rows.
//
// torch runs BN, the residual add and ReLU as separate passes over the
// activations, and in the backward pass ReLU's mask and BN's two passes again.
// Here the forward pass reads z once for the statistics and once to write
// y = relu((z - mean) * a + b [+ res]); the backward pass reads (dy, z [, res])
// once for the two per-channel sums and once to write dz (and d res).
//
// Sums run in float over blocks of kBlockRows rows and are added up in double
// per chunk of kChunkRows rows; the chunks are added in a fixed order, so the
// results do not depend on thread scheduling. The forward statistics are taken
// around the first row (shifted sums), so E[z^2] - E[z]^2 does not cancel.
//
// 2. Max over the k neighbours of each group (further down).
//
// Built by tools/install.sh through tap3d/ops/cpu/build.py (torch.utils.cpp_extension)
// with -ffp-contract=off: (z - mean) * a + b [+ res] rounds the same way in every
// loop, so the backward pass recomputes the forward pass's ReLU mask exactly from
// z (and the residual, which autograd keeps anyway as the block's input).
#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

constexpr int64_t kChunkRows = 1024;
constexpr int64_t kBlockRows = 32;

void check_rows(const at::Tensor& t, const char* name, int64_t rows, int64_t channels) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 2 &&
                  t.is_contiguous() && t.size(0) == rows && t.size(1) == channels,
              name, " must be a contiguous float32 CPU tensor of shape (", rows, ", ",
              channels, ")");
}

void check_channels(const at::Tensor& t, const char* name, int64_t channels) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 1 &&
                  t.is_contiguous() && t.size(0) == channels,
              name, " must be a contiguous float32 CPU tensor of shape (", channels, ")");
}

// Two per-channel sums over all rows. block(r0, r1, s0, s1) adds the float sums
// of rows [r0, r1) into s0 and s1 (length C); returns the totals [s0 | s1] in double.
template <typename Block>
std::vector<double> row_sums(int64_t rows, int64_t C, const Block& block) {
  const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
  std::vector<double> partial(static_cast<size_t>(chunks * 2 * C), 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(2 * C));
    for (int64_t i = begin; i < end; ++i) {
      double* out = partial.data() + i * 2 * C;
      const int64_t stop = std::min(rows, (i + 1) * kChunkRows);
      for (int64_t r = i * kChunkRows; r < stop; r += kBlockRows) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        block(r, std::min(stop, r + kBlockRows), acc.data(), acc.data() + C);
        for (int64_t c = 0; c < 2 * C; ++c) out[c] += acc[c];
      }
    }
  });
  std::vector<double> total(static_cast<size_t>(2 * C), 0.0);
  for (int64_t i = 0; i < chunks; ++i) {
    const double* s = partial.data() + i * 2 * C;
    for (int64_t c = 0; c < 2 * C; ++c) total[c] += s[c];
  }
  return total;
}

// BN with the batch statistics is y = (z - mean) * a + b; a and b come from the
// float mean and invstd that both passes see.
void affine_map(const float* w, const float* bias, const float* invstd, int64_t C, float* a,
                float* b) {
  for (int64_t c = 0; c < C; ++c) {
    a[c] = w ? w[c] * invstd[c] : invstd[c];
    b[c] = bias ? bias[c] : 0.0f;
  }
}

// The gradient reaching BN's output, g = dy * mask. kMask: 0 = no activation,
// 1 = ReLU mask recomputed from z, 2 = ReLU mask recomputed from z and the
// residual (the same expression as the forward pass, so the same rounding).
template <int kMask>
inline float masked_grad(float dy, float z, float res, float mean, float a, float b) {
  if (kMask == 0) return dy;
  float v = (z - mean) * a + b;
  if (kMask == 2) v += res;
  return v > 0.0f ? dy : 0.0f;
}

struct Rows {
  const float* __restrict__ dy;
  const float* __restrict__ z;
  const float* __restrict__ res;  // only for kMask == 2
  const float* __restrict__ mean;
  const float* __restrict__ a;
  const float* __restrict__ b;
  int64_t C;
};

// sg += g, sgz += g * (z - mean) over rows [r0, r1)
template <int kMask>
void backward_sums(const Rows& p, int64_t r0, int64_t r1, float* __restrict__ sg,
                   float* __restrict__ sgz) {
  const int64_t C = p.C;
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict__ dy = p.dy + r * C;
    const float* __restrict__ z = p.z + r * C;
    const float* __restrict__ res = kMask == 2 ? p.res + r * C : z;
    for (int64_t c = 0; c < C; ++c) {
      const float g = masked_grad<kMask>(dy[c], z[c], res[c], p.mean[c], p.a[c], p.b[c]);
      sg[c] += g;
      sgz[c] += g * (z[c] - p.mean[c]);
    }
  }
}

// dz = g * k1 + (z - mean) * k2 + k0 (and d residual = g) over rows [r0, r1)
template <int kMask>
void backward_input(const Rows& p, int64_t r0, int64_t r1, const float* __restrict__ k0,
                    const float* __restrict__ k1, const float* __restrict__ k2,
                    float* __restrict__ dz_out, float* __restrict__ dres_out) {
  const int64_t C = p.C;
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict__ dy = p.dy + r * C;
    const float* __restrict__ z = p.z + r * C;
    const float* __restrict__ res = kMask == 2 ? p.res + r * C : z;
    float* __restrict__ dz = dz_out + r * C;
    if (dres_out) {
      float* __restrict__ dres = dres_out + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float g = masked_grad<kMask>(dy[c], z[c], res[c], p.mean[c], p.a[c], p.b[c]);
        dz[c] = g * k1[c] + (z[c] - p.mean[c]) * k2[c] + k0[c];
        dres[c] = g;
      }
    } else {
      for (int64_t c = 0; c < C; ++c) {
        const float g = masked_grad<kMask>(dy[c], z[c], res[c], p.mean[c], p.a[c], p.b[c]);
        dz[c] = g * k1[c] + (z[c] - p.mean[c]) * k2[c] + k0[c];
      }
    }
  }
}

template <bool kRelu, bool kResidual>
void normalize_rows(const float* __restrict__ zp, const float* __restrict__ rp,
                    const float* __restrict__ mean, const float* __restrict__ a,
                    const float* __restrict__ b, float* __restrict__ yp, int64_t R,
                    int64_t C) {
  at::parallel_for(0, R, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict__ z = zp + r * C;
      const float* __restrict__ res = kResidual ? rp + r * C : z;
      float* __restrict__ y = yp + r * C;
      for (int64_t c = 0; c < C; ++c) {
        float v = (z[c] - mean[c]) * a[c] + b[c];
        if (kResidual) v += res[c];
        y[c] = kRelu ? (v > 0.0f ? v : 0.0f) : v;
      }
    }
  });
}

}  // namespace

// Returns y (R, C), mean (C), invstd (C), unbiased var (C).
std::vector<at::Tensor> bn_act_forward(const at::Tensor& z, const c10::optional<at::Tensor>& weight,
                                       const c10::optional<at::Tensor>& bias,
                                       const c10::optional<at::Tensor>& residual, double eps,
                                       bool relu) {
  TORCH_CHECK(z.dim() == 2, "z must be (R, C)");
  const int64_t R = z.size(0), C = z.size(1);
  TORCH_CHECK(R > 1, "BatchNorm in training mode needs more than one value per channel");
  check_rows(z, "z", R, C);
  if (weight) check_channels(*weight, "weight", C);
  if (bias) check_channels(*bias, "bias", C);
  if (residual) check_rows(*residual, "residual", R, C);
  const float* __restrict__ zp = z.data_ptr<float>();

  // statistics around the first row: s = sum(z - z0), ss = sum((z - z0)^2)
  const float* __restrict__ shift = zp;
  std::vector<double> sums = row_sums(R, C, [&](int64_t r0, int64_t r1, float* __restrict__ s,
                                                float* __restrict__ ss) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict__ row = zp + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float d = row[c] - shift[c];
        s[c] += d;
        ss[c] += d * d;
      }
    }
  });

  auto opts = z.options();
  at::Tensor mean = at::empty({C}, opts), invstd = at::empty({C}, opts),
             var_unbiased = at::empty({C}, opts);
  float* mean_p = mean.data_ptr<float>();
  float* invstd_p = invstd.data_ptr<float>();
  float* var_p = var_unbiased.data_ptr<float>();
  for (int64_t c = 0; c < C; ++c) {
    const double d = sums[c] / R;
    const double var = std::max(sums[C + c] / R - d * d, 0.0);
    mean_p[c] = static_cast<float>(shift[c] + d);
    invstd_p[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    var_p[c] = static_cast<float>(var * R / (R - 1));
  }
  std::vector<float> a(C), b(C);
  affine_map(weight ? weight->data_ptr<float>() : nullptr,
             bias ? bias->data_ptr<float>() : nullptr, invstd_p, C, a.data(), b.data());

  at::Tensor y = at::empty({R, C}, opts);
  const float* rp = residual ? residual->data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  const float* ap = a.data();
  const float* bp = b.data();
  if (relu && rp) normalize_rows<true, true>(zp, rp, mean_p, ap, bp, yp, R, C);
  else if (relu) normalize_rows<true, false>(zp, rp, mean_p, ap, bp, yp, R, C);
  else if (rp) normalize_rows<false, true>(zp, rp, mean_p, ap, bp, yp, R, C);
  else normalize_rows<false, false>(zp, rp, mean_p, ap, bp, yp, R, C);
  return {y, mean, invstd, var_unbiased};
}

// The ReLU mask is recomputed from z (and the residual, when the forward pass
// added one) exactly as the forward pass computed it. residual_grad: also return
// the gradient of the residual.
// Returns dz (R, C), d residual (R, C) or an undefined tensor, dweight (C), dbias (C).
std::vector<at::Tensor> bn_act_backward(const at::Tensor& dy, const at::Tensor& z,
                                        const c10::optional<at::Tensor>& residual,
                                        const c10::optional<at::Tensor>& weight,
                                        const c10::optional<at::Tensor>& bias,
                                        const at::Tensor& mean, const at::Tensor& invstd,
                                        bool relu, bool residual_grad) {
  TORCH_CHECK(z.dim() == 2, "z must be (R, C)");
  const int64_t R = z.size(0), C = z.size(1);
  check_rows(z, "z", R, C);
  check_rows(dy, "dy", R, C);
  if (residual) check_rows(*residual, "residual", R, C);
  if (weight) check_channels(*weight, "weight", C);
  if (bias) check_channels(*bias, "bias", C);
  check_channels(mean, "mean", C);
  check_channels(invstd, "invstd", C);

  const float* mp = mean.data_ptr<float>();
  const float* isp = invstd.data_ptr<float>();
  const float* w = weight ? weight->data_ptr<float>() : nullptr;
  std::vector<float> a(C), b(C);
  affine_map(w, bias ? bias->data_ptr<float>() : nullptr, isp, C, a.data(), b.data());
  const Rows rows{dy.data_ptr<float>(), z.data_ptr<float>(),
                  residual ? residual->data_ptr<float>() : nullptr, mp, a.data(), b.data(), C};
  const int mode = !relu ? 0 : (residual ? 2 : 1);

  std::vector<double> sums = row_sums(R, C, [&](int64_t r0, int64_t r1, float* sg, float* sgz) {
    if (mode == 0) backward_sums<0>(rows, r0, r1, sg, sgz);
    else if (mode == 1) backward_sums<1>(rows, r0, r1, sg, sgz);
    else backward_sums<2>(rows, r0, r1, sg, sgz);
  });

  auto opts = z.options();
  at::Tensor dweight = at::empty({C}, opts), dbias = at::empty({C}, opts);
  float* dweight_p = dweight.data_ptr<float>();
  float* dbias_p = dbias.data_ptr<float>();
  // dz = a * (g - sum(g) / R - xhat * sum(g * xhat) / R) with xhat = (z - mean) * invstd
  //    = g * k1 + (z - mean) * k2 + k0
  std::vector<float> k0(C), k1(C), k2(C);
  for (int64_t c = 0; c < C; ++c) {
    const double is = isp[c];
    const double scale = (w ? w[c] : 1.0) * is;
    dbias_p[c] = static_cast<float>(sums[c]);
    dweight_p[c] = static_cast<float>(sums[C + c] * is);
    k1[c] = static_cast<float>(scale);
    k2[c] = static_cast<float>(-scale * is * is * sums[C + c] / R);
    k0[c] = static_cast<float>(-scale * sums[c] / R);
  }

  at::Tensor dz = at::empty({R, C}, opts);
  at::Tensor dres = residual_grad ? at::empty({R, C}, opts) : at::Tensor();
  float* dzp = dz.data_ptr<float>();
  float* drp = residual_grad ? dres.data_ptr<float>() : nullptr;
  at::parallel_for(0, R, 256, [&](int64_t r0, int64_t r1) {
    if (mode == 0) backward_input<0>(rows, r0, r1, k0.data(), k1.data(), k2.data(), dzp, drp);
    else if (mode == 1) backward_input<1>(rows, r0, r1, k0.data(), k1.data(), k2.data(), dzp, drp);
    else backward_input<2>(rows, r0, r1, k0.data(), k1.data(), k2.data(), dzp, drp);
  });
  return {dz, dres, dweight, dbias};
}

// Max over the k rows of every group: x (G, k, C) -> values (G, C) and the row
// of the maximum (G, C) int32: the first maximum, and the first NaN if there is
// one, as torch.max(dim=1) on CPU. The backward pass writes the dense gradient
// in one pass instead of zero-filling it and scattering into it.
std::vector<at::Tensor> group_max_forward(const at::Tensor& x) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 3 &&
                  x.is_contiguous() && x.size(1) >= 1,
              "x must be a contiguous float32 CPU tensor of shape (G, k, C), k >= 1");
  const int64_t G = x.size(0), k = x.size(1), C = x.size(2);
  at::Tensor values = at::empty({G, C}, x.options());
  at::Tensor index = at::empty({G, C}, x.options().dtype(at::kInt));
  const float* xp = x.data_ptr<float>();
  float* vp = values.data_ptr<float>();
  int32_t* ip = index.data_ptr<int32_t>();
  at::parallel_for(0, G, 16, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const float* __restrict__ xg = xp + g * k * C;
      float* __restrict__ best = vp + g * C;
      int32_t* __restrict__ arg = ip + g * C;
      for (int64_t c = 0; c < C; ++c) {
        best[c] = xg[c];
        arg[c] = 0;
      }
      for (int64_t j = 1; j < k; ++j) {
        const float* __restrict__ row = xg + j * C;
        const int32_t jj = static_cast<int32_t>(j);
        for (int64_t c = 0; c < C; ++c) {
          const float v = row[c];
          const bool take = v > best[c] || (v != v && best[c] == best[c]);
          best[c] = take ? v : best[c];
          arg[c] = take ? jj : arg[c];
        }
      }
    }
  });
  return {values, index};
}

// d x (G, k, C): the gradient (G, C) at the row of each maximum, zero elsewhere.
at::Tensor group_max_backward(const at::Tensor& grad, const at::Tensor& index, int64_t k) {
  TORCH_CHECK(grad.device().is_cpu() && grad.scalar_type() == at::kFloat && grad.dim() == 2 &&
                  grad.is_contiguous(), "grad must be a contiguous float32 CPU tensor (G, C)");
  TORCH_CHECK(index.scalar_type() == at::kInt && index.is_contiguous() &&
                  index.sizes() == grad.sizes(),
              "index must be a contiguous int32 tensor like grad");
  const int64_t G = grad.size(0), C = grad.size(1);
  at::Tensor dx = at::empty({G, k, C}, grad.options());
  const float* gp = grad.data_ptr<float>();
  const int32_t* ip = index.data_ptr<int32_t>();
  float* dp = dx.data_ptr<float>();
  at::parallel_for(0, G, 16, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const float* __restrict__ gr = gp + g * C;
      const int32_t* __restrict__ arg = ip + g * C;
      for (int64_t j = 0; j < k; ++j) {
        float* __restrict__ out = dp + (g * k + j) * C;
        const int32_t jj = static_cast<int32_t>(j);
        for (int64_t c = 0; c < C; ++c) out[c] = arg[c] == jj ? gr[c] : 0.0f;
      }
    }
  });
  return dx;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("bn_act_forward", &bn_act_forward, "BatchNorm (training) + residual + ReLU, forward");
  m.def("bn_act_backward", &bn_act_backward, "BatchNorm (training) + residual + ReLU, backward");
  m.def("group_max_forward", &group_max_forward, "max over the k rows of each group, forward");
  m.def("group_max_backward", &group_max_backward, "max over the k rows of each group, backward");
}
