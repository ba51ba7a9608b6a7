"""RAG scoring written out step by step, mirroring transformers' RagTokenForGeneration /
RagSequenceForGeneration (4.57) so each intermediate value can go into the fixtures.

Shapes: B questions, K = n_docs, T decoder positions, V vocabulary. `seq_logits` is the generator's
raw output for the K context rows of each question, [B*K, T, V], rows grouped by question.
`sequences` are decoder token ids as HF feeds them (`decoder_input_ids = labels`): position t
predicts token t+1, so the scored targets are `sequences[:, 1:]` followed by one pad.
"""

from __future__ import annotations

import torch


def shifted_targets(sequences: torch.Tensor, pad_id: int) -> torch.Tensor:
    """HF get_nll: targets = sequences shifted left by one, a pad appended."""
    pad = sequences.new_full((sequences.shape[0], 1), pad_id)
    return torch.cat([sequences[:, 1:], pad], dim=1)


def doc_log_prior(doc_scores: torch.Tensor) -> torch.Tensor:
    """log p(z|x) = log_softmax over the K retrieved docs of the inner-product scores. [B, K]"""
    return torch.log_softmax(doc_scores, dim=1)


def per_doc_token_logprobs(seq_logits: torch.Tensor, n_docs: int) -> torch.Tensor:
    """log p(y_t | x, z, y_<t) for every vocabulary entry. [B, K, T, V]"""
    logp = torch.log_softmax(seq_logits, dim=-1)
    return logp.view(seq_logits.shape[0] // n_docs, n_docs, -1, seq_logits.shape[-1])


def rag_token_marginals(seq_logits: torch.Tensor, doc_scores: torch.Tensor, n_docs: int) -> torch.Tensor:
    """RAG-Token: log p'(y_t|x,y_<t) = logsumexp_z [log p(z|x) + log p(y_t|x,z,y_<t)]. [B, T, V]
    Same as RagTokenForGeneration.marginalize."""
    joint = per_doc_token_logprobs(seq_logits, n_docs) + doc_log_prior(doc_scores)[:, :, None, None]
    return torch.logsumexp(joint, dim=1)


def rag_token_step_logprobs(
    seq_logits: torch.Tensor, doc_scores: torch.Tensor, sequences: torch.Tensor, n_docs: int, pad_id: int
) -> torch.Tensor:
    """Marginal log-prob of each target token, 0 where the target is pad (HF masks pads). [B, T];
    its row sums are -RagTokenForGeneration.get_nll(..., epsilon=0)."""
    target = shifted_targets(sequences, pad_id)
    marg = rag_token_marginals(seq_logits, doc_scores, n_docs)
    ll = marg.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return ll.masked_fill(target.eq(pad_id), 0.0)


def rag_token_doc_posteriors(
    seq_logits: torch.Tensor, doc_scores: torch.Tensor, sequences: torch.Tensor, n_docs: int, pad_id: int
) -> torch.Tensor:
    """p(z | x, y_t, y_<t) ∝ p(z|x) p(y_t|x,z,y_<t) for each target token. [B, T, K]; rows whose
    target is pad are all zeros."""
    target = shifted_targets(sequences, pad_id)
    per_doc = per_doc_token_logprobs(seq_logits, n_docs)  # [B, K, T, V]
    idx = target[:, None, :, None].expand(-1, n_docs, -1, 1)
    tok = per_doc.gather(-1, idx).squeeze(-1)  # [B, K, T]
    joint = tok + doc_log_prior(doc_scores)[:, :, None]
    post = torch.softmax(joint, dim=1).transpose(1, 2)  # [B, T, K]
    return post.masked_fill(target.eq(pad_id)[:, :, None], 0.0)


def rag_sequence_doc_loglik(
    seq_logits: torch.Tensor,
    doc_scores: torch.Tensor,
    sequences: torch.Tensor,
    n_docs: int,
    pad_id: int,
    bos_id: int | None,
    exclude_bos_score: bool,
) -> torch.Tensor:
    """log p(z|x) + log p(y|x,z) per (question, doc) as RagSequenceForGeneration.get_nll builds it
    before its logsumexp over docs. [B, K]

    HF quirks kept on purpose: the doc prior is added at target position 1 (the second scored
    token), not 0, so it survives `exclude_bos_score`; it is therefore lost when position 1 is
    pad (a one-token target). BOS is excluded only if *every* row's first target is BOS."""
    target = shifted_targets(sequences, pad_id)  # [B, T]
    per_doc = per_doc_token_logprobs(seq_logits, n_docs)  # [B, K, T, V]
    prior = doc_log_prior(doc_scores)[:, :, None, None]
    rag = torch.cat([per_doc[:, :, :1], per_doc[:, :, 1:2] + prior, per_doc[:, :, 2:]], dim=2)
    idx = target[:, None, :, None].expand(-1, n_docs, -1, 1)
    ll = rag.gather(-1, idx).squeeze(-1)  # [B, K, T]
    ll = ll.masked_fill(target.eq(pad_id)[:, None, :], 0.0)
    use_bos = bos_id is not None and bool(target[:, 0].eq(bos_id).all())
    return ll[:, :, 1:].sum(2) if (exclude_bos_score and use_bos) else ll.sum(2)


def fast_sequence_scores(doc_loglik: torch.Tensor, generated_by: torch.Tensor) -> torch.Tensor:
    """RAG-Sequence "fast decoding" (Lewis et al. 2020, §2.5): p(y|x,z) is taken as 0 for every
    doc z whose beam search did not produce y, so score(y) = logsumexp over the docs that did.
    doc_loglik [C, K] (rag_sequence_doc_loglik with exclude_bos_score=True), generated_by [C, K]
    bool. Thorough decoding is the same logsumexp over all K docs."""
    masked = doc_loglik.masked_fill(~generated_by, float("-inf"))
    return torch.logsumexp(masked, dim=1)
