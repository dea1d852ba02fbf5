import { methodCell } from './define';

export default methodCell('moco', 'grad-mm', 'Contrastive gradient over {positive} ∪ queue (spec §4.1) with momentum-encoder targets and keys.');
