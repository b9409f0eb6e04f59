/* Multi-head scaled dot-product self-attention core, as inside
 * torch.nn.MultiheadAttention (the packed in_proj and the out_proj are
 * separate linear layers around it, see nn/linear.h).
 *
 * qkv (B*N, 3C): row b*N+i holds [q | k | v] for token i of sequence b, each C
 * wide, head h using columns h*HS..(h+1)*HS of each part (HS = C/NH), exactly
 * the packing of in_proj_weight (3C, C). The scores are q·kᵀ/sqrt(HS); with
 * `causal` token i attends only to j <= i (OpenCLIP's text mask). Softmax
 * subtracts the row max. att (B, NH, N, N) caches the probabilities (zeros
 * above the diagonal when causal); out (B*N, C) is the heads concatenated.
 *
 * The fast kernels run one OpenMP task per (batch, head) with fixed disjoint
 * outputs, so results do not depend on the thread count; each task's products
 * are gemm_f32 calls on strided views of qkv (single-threaded inside the
 * parallel loop: oneDNN runs on the calling thread there, see core/gemm.h). */
#ifndef MODX_NN_ATTENTION_H
#define MODX_NN_ATTENTION_H

void attention_forward(float *out, float *att, const float *qkv, int B, int N, int C, int NH, int causal);
void attention_forward_naive(float *out, float *att, const float *qkv, int B, int N, int C, int NH, int causal);
/* dqkv (B*N, 3C) += gradient; datt (B, NH, N, N) is scratch (overwritten). */
void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att, int B,
                        int N, int C, int NH, int causal);
/* The same with dqkv written (=), not added to: its old contents are unread. */
void attention_backward_set(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att, int B,
                            int N, int C, int NH, int causal);
void attention_backward_naive(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att,
                              int B, int N, int C, int NH, int causal);

#endif
