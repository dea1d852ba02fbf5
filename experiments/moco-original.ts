import { methodCell } from './define';

export default methodCell('moco', 'original', "MoCo's InfoNCE with a queue of past momentum-encoder keys (spec §4.1 conventions: τ 0.2, symmetric, queue updated after use).");
