// Ours (not part of faiss-node). Force-included (g++ -include) ahead of faiss-node's faiss.cc.
//
// faiss-node 0.5.1 targets faiss >= 1.7.4, where `faiss::idx_t` lives at namespace scope.
// Debian ships faiss 1.7.3, where it is still the member type `faiss::Index::idx_t`.
#pragma once

#include <faiss/Index.h>

namespace faiss {
using idx_t = Index::idx_t;
}

// Headers used by our extension methods (rag-methods.inc), which are spliced into
// faiss-node's IndexBase class body by patch-source.mjs.
#include <napi.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <omp.h>
#include <faiss/AutoTune.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IVFlib.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/index_io.h>

// OpenBLAS keeps its own thread pool next to OpenMP's; both are sized together by ragSetThreads
// (two pools of N threads each on N cores thrash badly). We link libopenblas explicitly.
extern "C" void openblas_set_num_threads(int num_threads);
extern "C" int openblas_get_num_threads(void);

// The JS names of our methods, registered next to faiss-node's own in each DefineClass list.
// All start with "rag" so that it is obvious in JS which methods are ours.
#define RAG_EXTRA_METHODS(Cls)                                              \
  InstanceMethod("ragAdd", &Cls::ragAdd),                                   \
      InstanceMethod("ragTrain", &Cls::ragTrain),                           \
      InstanceMethod("ragTrainAddAsync", &Cls::ragTrainAddAsync),           \
      InstanceMethod("ragSearch", &Cls::ragSearch),                         \
      InstanceMethod("ragToBuffer", &Cls::ragToBuffer),                     \
      InstanceMethod("ragSetParam", &Cls::ragSetParam),                     \
      InstanceMethod("ragGetParam", &Cls::ragGetParam),                     \
      InstanceMethod("ragDescribe", &Cls::ragDescribe),                     \
      InstanceMethod("ragRelease", &Cls::ragRelease),                       \
      InstanceMethod("ragIvfListsToBuffer", &Cls::ragIvfListsToBuffer),     \
      InstanceMethod("ragIvfAddLists", &Cls::ragIvfAddLists),               \
      InstanceMethod("ragIvfCompact", &Cls::ragIvfCompact),                 \
      InstanceMethod("ragSearchIvf", &Cls::ragSearchIvf),                   \
      StaticMethod("ragFromBuffer", &Cls::ragFromBuffer),                   \
      StaticMethod("ragSetThreads", &Cls::ragSetThreads),                   \
      StaticMethod("ragGetThreads", &Cls::ragGetThreads),                   \
      StaticMethod("ragGetBlasThreads", &Cls::ragGetBlasThreads),

// Reads an index straight out of a JS Buffer (no copy) and lets the caller check that
// every byte was consumed, so trailing garbage is caught as corruption.
struct RagSpanReader : faiss::IOReader {
  const uint8_t *data;
  size_t size;
  size_t pos = 0;
  RagSpanReader(const uint8_t *d, size_t n) : data(d), size(n) {}
  size_t operator()(void *ptr, size_t itemSize, size_t nitems) override {
    if (itemSize == 0 || nitems == 0) return 0;
    size_t avail = (size - pos) / itemSize;
    size_t take = std::min(nitems, avail);
    std::memcpy(ptr, data + pos, take * itemSize);
    pos += take * itemSize;
    return take;
  }
};
