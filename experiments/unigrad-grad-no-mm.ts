import { methodCell } from './define';

export default methodCell('unigrad', 'grad-no-mm', 'UniGrad gradient (spec §3.1) with F built from stop-gradient online embeddings (the paper has no number for this cell).');
