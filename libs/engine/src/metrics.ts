// The per-step numbers every consumer of the loop shares (progress line, metrics.csv, tracker).
/** Per-step numbers: what the log line, metrics.csv and the tracker receive. */
export interface StepMetrics {
  loss: number;
  pos_sim: number;
  lr: number;
  ema_momentum: number;
  /** Std over the batch of the L2-normalised online embeddings, averaged over dimensions: → 0 on collapse. */
  embedding_std: number;
  images_per_s: number;
}

