/* Class-token prepend plus positional embedding of the ViT:
 * out[b, 0, :] = cls + pos[0];  out[b, 1+p, :] = patches[b, p, :] + pos[1+p].
 * patches (B*NP, C); cls (C); pos (NP+1, C); out (B*(NP+1), C). */
#ifndef MODX_NN_CLASSTOKEN_H
#define MODX_NN_CLASSTOKEN_H

void classtoken_forward(float *out, const float *patches, const float *cls, const float *pos, int B, int NP, int C);
/* dpatches (B*NP, C) +=; dcls (C) += Σ_b; dpos (NP+1, C) += Σ_b. Any may be NULL. */
void classtoken_backward(float *dpatches, float *dcls, float *dpos, const float *dout, int B, int NP, int C);

#endif
