import { methodCell } from './define';

export default methodCell('simclr', 'grad-no-mm', 'Official contrastive gradient (spec §3.2) with stop-gradient online embeddings as the 2N candidates (spec §6.2).');
