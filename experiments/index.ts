// The registry of every table cell: one definition file per cell, collected here in table order.
import type { Experiment } from './define';
import mocoOriginal from './moco-original';
import mocoGradNoMm from './moco-grad-no-mm';
import mocoGradMm from './moco-grad-mm';
import simclrOriginal from './simclr-original';
import simclrGradNoMm from './simclr-grad-no-mm';
import simclrGradMm from './simclr-grad-mm';
import simsiamOriginal from './simsiam-original';
import simsiamGradNoMm from './simsiam-grad-no-mm';
import simsiamGradMm from './simsiam-grad-mm';
import byolOriginal from './byol-original';
import byolGradNoMm from './byol-grad-no-mm';
import byolGradMm from './byol-grad-mm';
import vicregOriginal from './vicreg-original';
import vicregGradNoMm from './vicreg-grad-no-mm';
import vicregGradMm from './vicreg-grad-mm';
import barlowTwinsOriginal from './barlow-twins-original';
import barlowTwinsGradNoMm from './barlow-twins-grad-no-mm';
import barlowTwinsGradMm from './barlow-twins-grad-mm';
import unigradGradNoMm from './unigrad-grad-no-mm';
import unigradGradMm from './unigrad-grad-mm';
import unigradCutmixGradMm from './unigrad-cutmix-grad-mm';
import baselineRaw from './baseline-raw';
import baselineRandom from './baseline-random';
import baselineSupervised from './baseline-supervised';

export const EXPERIMENTS: readonly Experiment[] = [
  mocoOriginal,
  mocoGradNoMm,
  mocoGradMm,
  simclrOriginal,
  simclrGradNoMm,
  simclrGradMm,
  simsiamOriginal,
  simsiamGradNoMm,
  simsiamGradMm,
  byolOriginal,
  byolGradNoMm,
  byolGradMm,
  vicregOriginal,
  vicregGradNoMm,
  vicregGradMm,
  barlowTwinsOriginal,
  barlowTwinsGradNoMm,
  barlowTwinsGradMm,
  unigradGradNoMm,
  unigradGradMm,
  unigradCutmixGradMm,
  baselineRaw,
  baselineRandom,
  baselineSupervised,
];

export function getExperiment(id: string): Experiment {
  const found = EXPERIMENTS.find((e) => e.id === id);
  if (!found) throw new Error(`unknown experiment '${id}'; known: ${EXPERIMENTS.map((e) => e.id).join(', ')}`);
  return found;
}

export { defineExperiment, methodCell, scriptName } from './define';
export type { Experiment, RowName, Variant } from './define';
