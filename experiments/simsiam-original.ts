import { methodCell } from './define';

export default methodCell('simsiam', 'original', "Negative cosine of a learned predictor's output against the stop-gradient online target (spec §5).");
