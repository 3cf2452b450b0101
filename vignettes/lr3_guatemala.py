"""Rodriguez's lr3 notes, section 3: immunization in Guatemala, in Python with mcglmm.

Run from the repository root: ``python vignettes/lr3_guatemala.py``; its output is
committed beside it (``lr3_guatemala.out``).  Everything is deterministic
(non-adaptive Gauss-Hermite quadrature, no random numbers).
"""
import numpy as np
import pandas as pd

import mcglmm as mc

pd.set_option("display.width", 100)


def section(title):
    print("\n" + "=" * 78 + "\n" + title + "\n" + "=" * 78)


section("1. The data (mlmRev's guImmun = the notes' guimr)")
gu = mc.datasets.load("guImmun")
print(gu.head(3).to_string())
print("levels (the first is the reference):")
for column in ["immun", "ord", "ethn", "momEd", "husEd"]:
    print(f"  {column}: {list(gu[column].cat.categories)}")

section("2. g12 <- lr3(numvac ~ ..., mom, cluster, data=guimr)   (12 points)")
formula = "immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81"
g12 = mc.lr3(formula, "mom", "comm", data=gu, trace=True)
print()
print(g12)

section("3. summary(g12)")
print(g12.summary())

section("4. Against the notes' table (their ms stopped a little earlier)")
notes = [-1.233400431, 1.716657175, -0.215994520, -0.260719016, 0.179373547, 0.431082926,
         -0.172473621, -0.083648877, 0.433026006, 0.420005173, 0.539348585, 0.505109742,
         -0.007241173, 0.390043560, -0.888256819, -1.149777002, 0.839785461, 0.024316884,
         2.315870079, 1.024614951]
notes_se = [0.4831806, 0.2173257, 0.2316288, 0.2319183, 0.2944780, 0.3720310, 0.4893662,
            0.3633018, 0.2224304, 0.4843674, 0.2322901, 0.4142667, 0.3568837, 0.2026816,
            0.3062250, 0.5003787, 0.1129482, 0.1562851, 0.2615734, 0.1601320]
table = g12.summary().table
comparison = pd.DataFrame({"Coef": table["Coef"], "notes": notes,
                           "difference": table["Coef"] - notes,
                           "Std. Error": table["Std. Error"], "notes SE": notes_se})
print(comparison.to_string(float_format=lambda v: f"{v:.3g}" if abs(v) < 1e-3 else f"{v:.7f}"))
print(f"logL: {g12.loglik:.10g} (notes -1323.961822)")
print(f"largest |gradient| at the estimate: {np.abs(g12.gradient).max():.1e}")

section("5. g20 <- lr3(..., quad.pts=20, beta=coef(g12,T,F), sigma=coef(g12,F,T))")
g20 = mc.lr3(formula, "mom", "comm", data=gu, quad_pts=20,
             beta=g12.coef(True, False), sigma=g12.coef(False, True))
print(g20)
print(f"iterations from the 12-point estimate: {g20.n_iter}")

section("6. frame=True: the structures the criterion needs")
frame = mc.lr3(formula, "mom", "comm", data=gu, frame=True)
print(f"y {frame.y.shape}, X {frame.X.shape}, n12 {frame.n12.shape}, n13 {frame.n13.shape}, "
      f"n23 {frame.n23.shape}")
print("n12[:10]", frame.n12[:10])
print("n23[:10]", frame.n23[:10])

section("7. A two-level model: mothers only (lr2)")
print(mc.lr2(formula, "mom", data=gu).summary())
