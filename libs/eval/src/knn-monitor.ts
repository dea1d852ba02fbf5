// The kNN monitor run during pretraining: trunk features (eval mode) of the train split as the bank, of the test
// split as the queries, weighted kNN (k = 200, T = 0.1) on top.
import type { Network } from '@unigrad/models';
import type { BatchSource, ImageTransform } from './batches';
import { extractFeatures } from './features';
import { KnnOptions, TopKResult, knnAccuracy } from './knn';

export interface KnnMonitorOptions extends KnnOptions {
  /** Applied to images of both splits before the trunk (evaluation transform, e.g. normalisation). */
  transform?: ImageTransform;
}

export async function knnMonitor(trunk: Network, bankBatches: BatchSource, queryBatches: BatchSource, options: KnnMonitorOptions): Promise<TopKResult> {
  const bank = await extractFeatures(trunk, bankBatches, { transform: options.transform });
  const queries = await extractFeatures(trunk, queryBatches, { transform: options.transform });
  return knnAccuracy(bank, queries, options);
}
