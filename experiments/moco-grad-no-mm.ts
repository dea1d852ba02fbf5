import { methodCell } from './define';

export default methodCell('moco', 'grad-no-mm', 'Contrastive gradient over {positive} ∪ queue (spec §4.1) with stop-gradient online targets and keys.');
