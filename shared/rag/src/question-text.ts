import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelLoadError, readTextFileSync } from '@rag/core';

/**
 * The question as HF RAG's generator sees it: RagRetriever decodes the question encoder's input ids
 * (`question_encoder_tokenizer.batch_decode(input_ids, skip_special_tokens=True)`), so an uncased DPR
 * tokenizer hands the generator a lowercased, WordPiece-rejoined string. Models fine-tuned through HF
 * RAG saw that text; pass this as `questionForGenerator` to feed them the same.
 */
export function dprQuestionRoundTrip(questionEncoderDir: string): (question: string) => string {
  const tokPath = join(questionEncoderDir, 'tokenizer.json');
  if (!existsSync(tokPath)) {
    throw new ModelLoadError(`no tokenizer.json in ${questionEncoderDir}`, {
      hint: 'point at the question encoder directory (the one with the DPR tokenizer)',
    });
  }
  const cfgPath = join(questionEncoderDir, 'tokenizer_config.json');
  const cfg = existsSync(cfgPath) ? (JSON.parse(readTextFileSync(cfgPath, { expected: 'a JSON tokenizer config' })) as object) : {};
  const tok = new Tokenizer(JSON.parse(readTextFileSync(tokPath, { expected: 'a tokenizer.json' })) as object, cfg);
  return (q) => tok.decode(tok.encode(q).ids, { skip_special_tokens: true });
}
