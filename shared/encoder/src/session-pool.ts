import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InferenceSession, listSupportedBackends } from 'onnxruntime-node';
import { ModelLoadError } from '@rag/core';
import type { ExecutionProvider } from './encoder-options.js';

/**
 * One InferenceSession per (model file, provider, threads) per process: a session holds the weights
 * and its own thread pool, so a second copy only costs memory and oversubscribes cores.
 * Reference-counted so that release() frees it when the last Encoder lets go.
 */
interface Entry {
  session: Promise<InferenceSession>;
  refs: number;
}
const sessions = new Map<string, Entry>();

export const CUDA_HINT =
  'install the CUDA provider (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node; needs CUDA 12 and cuDNN 9 on a GPU host), or use executionProvider cpu (RAG_ONNX_EP=cpu)';

/** True when onnxruntime-node can load its CUDA provider library here. */
export function cudaProviderInstalled(): boolean {
  const cuda = listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda) return false;
  if (cuda.bundled) return true;
  // Not bundled: the install script drops libonnxruntime_providers_cuda next to the native binding.
  const require = createRequire(import.meta.url);
  const binRoot = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin');
  if (!existsSync(binRoot)) return false;
  for (const napi of readdirSync(binRoot)) {
    const dir = join(binRoot, napi, process.platform, process.arch);
    if (existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('libonnxruntime_providers_cuda'))) return true;
  }
  return false;
}

export function sessionOptions(ep: ExecutionProvider, threads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: ep === 'cuda' ? [{ name: 'cuda' }] : ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // One forward pass at a time per session; the inter-op pool would only compete with intra-op threads.
    interOpNumThreads: 1,
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    // Idle intra-op threads sleep instead of spinning: on a shared machine a spinning thread burns the
    // core its sibling (or another process) needs, and measured 2.5x slower under load (docs/encoders.md).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export async function acquireSession(modelPath: string, ep: ExecutionProvider, threads: number): Promise<{ key: string; session: InferenceSession }> {
  const key = `${modelPath}|${ep}|${threads}`;
  let entry = sessions.get(key);
  if (!entry) {
    if (ep === 'cuda' && !cudaProviderInstalled()) {
      throw new ModelLoadError('executionProvider "cuda" was requested but ONNX Runtime has no CUDA provider on this machine', {
        hint: CUDA_HINT,
        details: { backends: listSupportedBackends() },
      });
    }
    const created = InferenceSession.create(modelPath, sessionOptions(ep, threads)).catch((err: unknown) => {
      sessions.delete(key);
      throw new ModelLoadError(`ONNX Runtime could not load ${modelPath} (${ep}): ${(err as Error).message}`, {
        cause: err,
        hint: ep === 'cuda' ? CUDA_HINT : 'the file may be truncated or from a newer opset; export the model again',
        details: { modelPath, executionProvider: ep },
      });
    });
    entry = { session: created, refs: 0 };
    sessions.set(key, entry);
  }
  entry.refs++;
  try {
    return { key, session: await entry.session };
  } catch (err) {
    entry.refs--;
    throw err;
  }
}

export async function releaseSession(key: string): Promise<void> {
  const entry = sessions.get(key);
  if (!entry) return;
  entry.refs--;
  if (entry.refs > 0) return;
  sessions.delete(key);
  await (await entry.session).release();
}
