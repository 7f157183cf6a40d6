// The fast llama3 encoder against the reference on Brown, nlp-corpus and adversarial text.
import { describeExactness } from './tokenizer-exactness.ts'

describeExactness('llama3')
