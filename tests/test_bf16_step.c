/* bf16 training (train.precision "bf16"): the step's gradients with the
 * layers' products on bf16 operands (fp32 accumulation) agree with the fp32
 * step's to bf16 accuracy, on the micro model and the committed batch, for the
 * contrastive loss and Mod-X's. bf16 keeps 8 significant bits (unit roundoff
 * 2⁻⁹ ≈ 0.002, one rounding per operand, compounded through 2 + 2 layers
 * and their backward); measured here: relative L2 error of the whole gradient
 * 1.1%, of the worst parameter tensor (the first text block's in_proj bias)
 * 2.0%, the loss 0.07%. Bounds: 3% for the whole gradient, 6% per tensor,
 * 0.5% for the loss. The error must also be non-zero (the bf16 path ran). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "core/gemm.h"
#include "harness.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "strategy_util.h"
#include "train/step.h"

#define MICRO_CFG "tests/fixtures/clip_micro.json"

static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), r += (double)b[i] * b[i];
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

/* Worst relative L2 error over the parameter tensors with a non-negligible gradient. */
static double worst_tensor(const ClipModel *m, const float *g, const float *ref, const char **name) {
    double worst = 0, total = 0;
    for (size_t i = 0; i < m->table.total; i++) total += (double)ref[i] * ref[i];
    for (int t = 0; t < m->table.count; t++) {
        const ParamInfo *p = &m->table.items[t];
        double nr = 0;
        for (size_t i = 0; i < p->numel; i++) nr += (double)ref[p->offset + i] * ref[p->offset + i];
        if (nr < 1e-8 * total) continue; /* a tensor whose gradient is noise-level */
        double e = rel_l2(g + p->offset, ref + p->offset, p->numel);
        if (e > worst) worst = e, *name = p->name;
    }
    return worst;
}

static void check_term(int modx) {
    ClipModel *m = NULL, *old = NULL;
    SafeTensors *batch = NULL;
    EXPECT(checkpoint_load(&m, "tests/fixtures/clip_micro_ckpt.safetensors", MICRO_CFG) == MODX_OK &&
               checkpoint_load(&old, "tests/fixtures/clip_micro_ckpt.safetensors", MICRO_CFG) == MODX_OK &&
               safetensors_open(&batch, "tests/fixtures/clip_micro_batch.safetensors") == MODX_OK,
           "%s", modx_last_error());
    /* an old model a little away from the current one, so Mod-X's KL term is not zero */
    for (size_t i = 0; i < old->table.total; i++) old->params[i] *= 1.0f + 0.05f * (float)((i * 2654435761u) % 7) / 7;
    const ClipConfig *c = &m->cfg;
    const int B = (int)safetensors_find(batch, "images")->shape[0];
    int64_t is[4] = {B, 3, c->vision.image_size, c->vision.image_size}, ts[2] = {B, c->text.context_length};
    float *images = calloc((size_t)(is[0] * is[1] * is[2] * is[3]), sizeof(float));
    int32_t *texts = calloc((size_t)(ts[0] * ts[1]), sizeof *texts);
    float *g32 = calloc(m->table.total, sizeof(float)), *g16 = calloc(m->table.total, sizeof(float));
    ClipStep *s = NULL;
    StrategyInst si;
    StepLossTerm con = {0}, term = modx ? test_modx_term(&si, 1.0, 1) : con;
    StepLoss l32, l16;
    int ok = images && texts && g32 && g16 && !safetensors_read_f32(batch, "images", 4, is, images) &&
             !safetensors_read_i32(batch, "texts", 2, ts, texts) && !clip_step_new(&s, m, old, B) &&
             !clip_step_run(s, images, texts, B, &term, g32, &l32);
    GemmPrecision was = gemm_set_layer_precision(GEMM_BF16);
    ok = ok && !clip_step_run(s, images, texts, B, &term, g16, &l16);
    gemm_set_layer_precision(was);
    double whole = ok ? rel_l2(g16, g32, m->table.total) : 1, loss_rel = ok ? fabs(l16.loss - l32.loss) / l32.loss : 1;
    const char *wn = "(none)";
    double worst = ok ? worst_tensor(m, g16, g32, &wn) : 1;
    char name[128];
    snprintf(name, sizeof name, "%s", wn); /* the table's names go with the model */
    clip_step_free(s);
    clip_model_free(m), clip_model_free(old);
    safetensors_close(batch);
    free(images), free(texts), free(g32), free(g16);
    EXPECT(ok, "running the steps: %s", modx_last_error());
    printf("    bf16 vs fp32 (%s): loss %.6g vs %.6g (rel %.2g); gradient rel L2 %.3g, worst tensor %s %.3g\n",
           modx ? "modx" : "contrastive", l16.loss, l32.loss, loss_rel, whole, name, worst);
    EXPECT(whole > 0, "bf16 gradients equal fp32's bit for bit: the bf16 products did not run");
    EXPECT(whole <= 0.03, "bf16 gradient rel L2 error %.3g > 0.03", whole);
    EXPECT(worst <= 0.06, "bf16 gradient of %s: rel L2 error %.3g > 0.06", name, worst);
    EXPECT(loss_rel <= 0.005, "bf16 loss %.9g vs fp32 %.9g", l16.loss, l32.loss);
}

TEST(bf16_step_gradients_contrastive) { check_term(0); }
TEST(bf16_step_gradients_modx) { check_term(1); }
