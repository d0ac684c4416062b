//===- FuseElementwiseIntoMatmul.cpp - epilogue fusion for contractions ---===//
//
// mlirboot-fuse-elementwise-into-matmul: an elementwise linalg op (bias add,
// relu, ...) whose input is the result of a matmul-like op (linalg.matmul,
// batch_matmul, conv, ... on tensors; used only there) is tiled along its
// parallel dims, and the producer (and the linalg.fill that initializes it)
// is fused into the tile loop with upstream's
// scf::tileConsumerAndFuseProducersUsingSCF. Each tile then computes
// fill -> matmul -> epilogue while the tile is hot, instead of writing the
// whole matmul result and reading it back.
//
// Upstream's linalg-fuse-elementwise-ops only fuses elementwise producers
// into elementwise consumers; transform.structured.fuse does this rewrite
// but needs a per-program transform script to select the ops. This pass does
// the selection.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_fuse {

/// A reduction-carrying linalg op on tensors whose only use is `consumer`.
linalg::LinalgOp matmulLikeProducer(Value v, Operation *consumer) {
  auto producer = v.getDefiningOp<linalg::LinalgOp>();
  if (!producer || !producer.hasPureTensorSemantics() ||
      producer->getNumResults() != 1 || !v.hasOneUse() ||
      producer->getBlock() != consumer->getBlock() ||
      producer.getNumReductionLoops() == 0 ||
      !isa<TilingInterface>(producer.getOperation()))
    return nullptr;
  if (!linalg::isaContractionOpInterface(producer) &&
      !linalg::isaConvolutionOpInterface(producer))
    return nullptr;
  return producer;
}

struct Candidate {
  linalg::LinalgOp consumer;
  linalg::LinalgOp producer;
};

std::optional<Candidate> matchCandidate(linalg::LinalgOp consumer) {
  // Elementwise: all loops parallel, single tensor result whose map is the
  // identity, so a tile of the result needs the same tile of the producer.
  if (!consumer.hasPureTensorSemantics() || consumer->getNumResults() != 1 ||
      !linalg::isElementwise(consumer) ||
      !consumer.getIndexingMapsArray().back().isIdentity() ||
      !isa<TilingInterface>(consumer.getOperation()))
    return std::nullopt;
  for (OpOperand *in : consumer.getDpsInputOperands()) {
    if (!consumer.getMatchingIndexingMap(in).isIdentity())
      continue;
    if (linalg::LinalgOp producer = matmulLikeProducer(in->get(), consumer))
      return Candidate{consumer, producer};
  }
  return std::nullopt;
}

struct FuseElementwiseIntoMatmulPass
    : PassWrapper<FuseElementwiseIntoMatmulPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseElementwiseIntoMatmulPass)

  FuseElementwiseIntoMatmulPass() = default;
  FuseElementwiseIntoMatmulPass(const FuseElementwiseIntoMatmulPass &other)
      : PassWrapper(other) {}

  StringRef getArgument() const final {
    return "mlirboot-fuse-elementwise-into-matmul";
  }
  StringRef getDescription() const final {
    return "Tile elementwise consumers of matmul-like linalg ops and fuse the "
           "producer (and its fill) into the tile loop";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect, scf::SCFDialect,
                    tensor::TensorDialect, affine::AffineDialect,
                    arith::ArithDialect>();
  }

  ListOption<int64_t> tileSizes{
      *this, "tile-sizes",
      llvm::cl::desc("Tile sizes of the consumer's loops, outermost first; "
                     "missing trailing entries default to 32 for the two "
                     "innermost loops and 1 for outer (batch) loops; 0 = do "
                     "not tile that loop")};
  Option<bool> useForall{
      *this, "use-forall", llvm::cl::init(false),
      llvm::cl::desc("Emit scf.forall (parallel tiles) instead of scf.for")};

  /// Tile sizes for the consumer's loops. A size that does not divide a
  /// static loop's extent becomes the largest one that does (33 columns by 32
  /// would leave a last tile of 1 whose temporaries have dynamic shapes, and
  /// GPU device code has no heap for them), or 0 (untiled) when that is
  /// smaller than 4.
  SmallVector<int64_t> sizesFor(linalg::LinalgOp op) const {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<int64_t> sizes;
    for (unsigned i = 0, rank = ranges.size(); i < rank; ++i) {
      int64_t size = i < tileSizes.size() ? tileSizes[i] : (i + 2 >= rank ? 32 : 1);
      int64_t extent = ranges[i];
      if (size > 0 && !ShapedType::isDynamic(extent) && size < extent && extent % size) {
        while (extent % size)
          --size;
        if (size < 4)
          size = 0;
      }
      sizes.push_back(size);
    }
    return sizes;
  }

  void runOnOperation() override {
    SmallVector<Candidate> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (std::optional<Candidate> c = matchCandidate(op))
        candidates.push_back(*c);
    });
    IRRewriter rewriter(&getContext());
    for (Candidate &c : candidates)
      if (failed(fuse(rewriter, c)))
        return signalPassFailure();
  }

  LogicalResult fuse(IRRewriter &rewriter, Candidate &c) {
    Operation *consumer = c.consumer.getOperation();
    Operation *producer = c.producer.getOperation();
    SmallVector<int64_t> sizes = sizesFor(c.consumer);
    if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
      return success();

    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
    tiling.setLoopType(useForall ? scf::SCFTilingOptions::LoopType::ForallOp
                                 : scf::SCFTilingOptions::LoopType::ForOp);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    // Fuse only the matmul and the fill of its accumulator. Fusing anything
    // further up (e.g. the producer of the matmul's inputs) would recompute
    // it once per tile.
    options.setFusionControlFn(
        [producer](tensor::ExtractSliceOp, OpResult original,
                   bool) -> std::optional<
                             scf::SCFTileAndFuseOptions::ControlFnResult> {
          Operation *owner = original.getOwner();
          if (owner == producer)
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          auto fill = dyn_cast<linalg::FillOp>(owner);
          if (fill && llvm::is_contained(
                  cast<linalg::LinalgOp>(producer).getDpsInits(), original))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          return std::nullopt;
        });

    std::string producerName = producer->getName().getStringRef().str();
    Location loc = consumer->getLoc();
    rewriter.setInsertionPoint(consumer);
    FailureOr<scf::SCFTileAndFuseResult> result =
        scf::tileConsumerAndFuseProducersUsingSCF(
            rewriter, cast<TilingInterface>(consumer), options);
    if (failed(result))
      return consumer->emitError("mlirboot: tiling the elementwise consumer "
                                 "for fusion failed");
    bool fusedProducer = result->fusedProducers.contains(producer);
    if (!fusedProducer)
      // Tiled but the producer could not be fused: still a valid rewrite.
      emitRemark(loc) << "mlirboot: tiled elementwise op but could not fuse "
                      << producerName;

    SmallVector<Operation *> toReplace{consumer};
    llvm::append_range(toReplace, result->fusedProducers);
    for (Operation *op : toReplace)
      for (OpResult res : op->getResults())
        if (Value repl = result->replacements.lookup(res))
          rewriter.replaceAllUsesWith(res, repl);
    // The tiling API leaves the slices it fused through in place; they are
    // dead and would keep the untiled producer alive.
    if (!result->loops.empty()) {
      SmallVector<tensor::ExtractSliceOp> slices;
      result->loops.front()->walk(
          [&](tensor::ExtractSliceOp slice) { slices.push_back(slice); });
      for (tensor::ExtractSliceOp slice : slices)
        if (slice->use_empty())
          rewriter.eraseOp(slice);
    }
    // The untiled originals are dead once the consumer is gone; erase users
    // before their producers (consumer, matmul, fill) whatever the order.
    for (bool progress = true; progress;) {
      progress = false;
      for (Operation *&op : toReplace) {
        if (op && op->use_empty()) {
          rewriter.eraseOp(op);
          op = nullptr;
          progress = true;
        }
      }
    }

    if (fusedProducer) {
      std::string sizeText;
      for (auto [i, s] : llvm::enumerate(sizes))
        sizeText += (i ? "x" : "") + std::to_string(s);
      emitRemark(loc) << "mlirboot: fused elementwise consumer into "
                      << producerName << " (tiles " << sizeText << ")";
    }
    return success();
  }
};

} // namespace mlirboot_fuse

void mlirboot::registerFuseElementwiseIntoMatmulPass() {
  mlir::PassRegistration<mlirboot_fuse::FuseElementwiseIntoMatmulPass>();
}
