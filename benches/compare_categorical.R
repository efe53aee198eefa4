# Side by side: nnet::multinom, ordinal::clm and ordinal::clmm on generated data of the issue's
# sizes. Writes the CSV files once (seeded), then prints "name seconds" for each R fit (the data
# already in memory). benches/compare_categorical.sh times strata's whole commands on the same
# files and prints the ratios.
# Usage: Rscript benches/compare_categorical.R DIR [generate|time] [multinom clm clmm]
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
mode <- if (length(args) > 1) args[2] else "time"
models <- if (length(args) > 2) args[-(1:2)] else c("multinom", "clm", "clmm")
dir.create(dir, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages({ library(nnet); library(ordinal) })

if (mode == "generate") {
  set.seed(2026)
  n <- 1e6; p <- 10
  X <- matrix(rnorm(n * p), n, p); colnames(X) <- paste0("x", 1:p)
  B <- matrix(rnorm(p * 3, sd = 0.3), p, 3)
  eta <- cbind(0, sweep(X %*% B, 2, c(-0.5, 0.2, -1), "+"))
  pr <- exp(eta) / rowSums(exp(eta))
  u <- runif(n); y <- 1 + rowSums(u > t(apply(pr, 1, cumsum)))
  decision <- c("nfa", "cin", "cpp", "cla")[pmin(y, 4)]
  latent <- X %*% rnorm(p, sd = 0.3) + rlogis(n)
  grade <- cut(latent, c(-Inf, -1, 0.2, 1.5, Inf), labels = c("inadequate", "requires", "good", "outstanding"))
  write.csv(data.frame(decision, grade = as.character(grade), X), file.path(dir, "categorical_1e6.csv"), row.names = FALSE)
  m <- 2e5; la <- sample(150, m, replace = TRUE); Z <- matrix(rnorm(m * 3), m, 3); colnames(Z) <- paste0("z", 1:3)
  latent <- Z %*% c(0.5, -0.3, 0.2) + rnorm(150, sd = 0.7)[la] + rlogis(m)
  grade <- cut(latent, c(-Inf, -1, 0.2, 1.5, Inf), labels = c("inadequate", "requires", "good", "outstanding"))
  write.csv(data.frame(grade = as.character(grade), Z, la = sprintf("LA%03d", la)), file.path(dir, "clmm_2e5.csv"), row.names = FALSE)
  quit(save = "no")
}

big <- read.csv(file.path(dir, "categorical_1e6.csv"))
big$decision <- factor(big$decision, levels = c("nfa", "cin", "cpp", "cla"))
big$grade <- factor(big$grade, levels = c("inadequate", "requires", "good", "outstanding"), ordered = TRUE)
f <- paste(paste0("x", 1:10), collapse = " + ")
if ("multinom" %in% models) {
  t <- system.time(m1 <- multinom(as.formula(paste("decision ~", f)), data = big, maxit = 1000, trace = FALSE))["elapsed"]
  cat("multinom", t, "\n# multinom converged", m1$convergence == 0, " loglik", logLik(m1), "\n")
}
if ("clm" %in% models) {
  t <- system.time(m2 <- clm(as.formula(paste("grade ~", f)), data = big))["elapsed"]
  cat("clm", t, "\n# clm loglik", logLik(m2), "\n")
}
if ("clmm" %in% models) {
  small <- read.csv(file.path(dir, "clmm_2e5.csv"))
  small$grade <- factor(small$grade, levels = c("inadequate", "requires", "good", "outstanding"), ordered = TRUE)
  t <- system.time(m3 <- clmm(grade ~ z1 + z2 + z3 + (1 | la), data = small))["elapsed"]
  cat("clmm", t, "\n# clmm loglik", logLik(m3), "\n")
}
