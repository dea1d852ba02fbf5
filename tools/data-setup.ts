// `npm run data:setup`: locate Fashion-MNIST (or install Debian's dataset-fashion-mnist with apt-get where that
// works), then verify it: IDX headers and lengths, 60,000 / 10,000 images, labels 0..9 with 10% per class, and
// the normalisation constants. Exits non-zero, saying why and what to do, on any failure.
import { spawnSync } from 'node:child_process';
import { exitWithError, parseCli } from '@unigrad/configs';
import {
  FASHION_MNIST_NORM,
  FASHION_MNIST_SOURCE,
  FASHION_MNIST_SYSTEM_DIR,
  channelStats,
  fashionMnistCandidates,
  hasFashionMnist,
  loadFashionMnist,
} from '@unigrad/data';

function log(msg: string): void {
  console.log(`[data:setup] ${msg}`);
}

function tryApt(): string | null {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasSudo = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return 'apt-get is not available on this system';
  if (!isRoot && !hasSudo) return 'apt-get needs root (run as root, or with passwordless sudo)';
  const run = (args: string[]) => {
    const cmd = isRoot ? 'apt-get' : 'sudo';
    const full = isRoot ? args : ['-n', 'apt-get', ...args];
    log(`running ${cmd} ${full.join(' ')}`);
    return spawnSync(cmd, full, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status;
  };
  if (run(['install', '-y', '--no-install-recommends', 'dataset-fashion-mnist']) === 0) return null;
  if (run(['update']) !== 0) return 'apt-get update failed (no network or no package lists)';
  return run(['install', '-y', '--no-install-recommends', 'dataset-fashion-mnist']) === 0 ? null : 'apt-get install dataset-fashion-mnist failed';
}

function main(): number {
  parseCli(process.argv.slice(2), {
    usage: 'npm run data:setup',
    summary: "Locates Fashion-MNIST (or installs Debian's dataset-fashion-mnist with apt-get) and verifies it: IDX headers, counts, labels, normalisation constants.",
    flags: {},
    exitCodes: { 1: 'data missing or invalid (the message says how to fix it)', 2: 'bad usage' },
  });
  let dir = fashionMnistCandidates().find((d) => hasFashionMnist(d));
  if (!dir) {
    log(`Fashion-MNIST not found in ${fashionMnistCandidates().join(', ')}; trying the Debian package dataset-fashion-mnist`);
    const failure = tryApt();
    if (failure !== null || !hasFashionMnist(FASHION_MNIST_SYSTEM_DIR)) {
      console.error(
        `[data:setup] FAILED: could not install Fashion-MNIST (${failure ?? `the package did not create ${FASHION_MNIST_SYSTEM_DIR}`}).\n` +
          `  Fix: download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n` +
          `  t10k-labels-idx1-ubyte.gz from ${FASHION_MNIST_SOURCE} (section "Get the Data") into data/fashion-mnist/\n` +
          `  (or any folder named by FASHION_MNIST_DIR), then run \`npm run data:setup\` again.`,
      );
      return 1;
    }
    dir = FASHION_MNIST_SYSTEM_DIR;
  }
  log(`using ${dir}`);
  try {
    for (const split of ['train', 'test'] as const) {
      const ds = loadFashionMnist(split, dir);
      const perClass = new Array<number>(ds.classes.length).fill(0);
      for (const l of ds.labels) perClass[l]++;
      if (perClass.some((c) => c !== ds.n / 10)) throw new Error(`${split}: class counts ${perClass.join('/')} are not ${ds.n / 10} each`);
      log(`${split}: ${ds.n} images ${ds.height}x${ds.width}x${ds.channels}, labels 0..9 with ${ds.n / 10} per class — OK`);
      if (split === 'train') {
        const stats = channelStats(ds.images, 1);
        const off = Math.max(Math.abs(stats.mean[0] - FASHION_MNIST_NORM.mean[0]), Math.abs(stats.std[0] - FASHION_MNIST_NORM.std[0]));
        if (off > 1e-6) throw new Error(`train mean/std ${stats.mean[0]}/${stats.std[0]} differ from the built-in constants`);
        log(`train mean ${stats.mean[0].toFixed(6)}, std ${stats.std[0].toFixed(6)} — match the built-in normalisation`);
      }
    }
  } catch (err) {
    console.error(`[data:setup] FAILED: ${(err as Error).message}\n  Fix: re-download the files from ${FASHION_MNIST_SOURCE}.`);
    return 1;
  }
  log('Fashion-MNIST is ready.');
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  exitWithError(err);
}
