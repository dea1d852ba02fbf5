import { methodCell } from './define';

export default methodCell('simclr', 'original', 'NT-Xent over the 2N online embeddings, τ 0.2, gradients through every embedding (spec §5).');
