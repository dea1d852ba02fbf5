import { methodCell } from './define';

export default methodCell('byol', 'original', "Negative cosine of a learned predictor's output against the EMA target (spec §5).");
