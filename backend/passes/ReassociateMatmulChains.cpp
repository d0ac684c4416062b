//===- ReassociateMatmulChains.cpp - matrix-chain order on linalg ---------===//
//
// mlirboot-reassociate-matmul-chains: a tree of tensor linalg.matmul ops whose
// inner products each have exactly one use and start from a zero fill is a
// matrix chain M0·M1·...·Mn. With static shapes the classic O(n^3) dynamic
// program finds the parenthesization with the fewest multiplies
// (cost(p x q · q x r) = p·q·r); the chain is rebuilt in that order when it is
// strictly cheaper than the order written. Reassociation is exact for
// integers and changes rounding for floats (the usual algebraic-rewrite
// trade-off; run the pass only at optimizing levels).
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_chain {

/// A plain 2-D matmul on static tensors: default maps, no casts.
bool isPlainMatmul(linalg::MatmulOp op) {
  if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps() ||
      op->getNumResults() != 1)
    return false;
  Type t = getElementTypeOrSelf(op.getResult(0).getType());
  for (Value v : op->getOperands()) {
    auto rt = dyn_cast<RankedTensorType>(v.getType());
    if (!rt || !rt.hasStaticShape() || rt.getRank() != 2 ||
        rt.getElementType() != t)
      return false;
  }
  return isa<FloatType, IntegerType>(t);
}

/// True when `v` is a tensor that a linalg.fill set to zero.
bool isZeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  if (!fill || !fill.hasPureTensorSemantics())
    return false;
  Value scalar = fill.getInputs()[0];
  return matchPattern(scalar, m_AnyZeroFloat()) || matchPattern(scalar, m_Zero());
}

/// An inner product of a chain: a plain zero-initialized matmul used only by
/// `user`, in the same block.
linalg::MatmulOp innerProduct(Value v, Operation *user) {
  auto mm = v.getDefiningOp<linalg::MatmulOp>();
  if (!mm || !isPlainMatmul(mm) || !v.hasOneUse() ||
      mm->getBlock() != user->getBlock() || !isZeroFill(mm.getOutputs()[0]))
    return nullptr;
  return mm;
}

/// The chain as written: leaves in order and the tree over them.
struct Chain {
  SmallVector<Value> leaves;
  SmallVector<linalg::MatmulOp> products; // inner products (not the root)
  // Written tree: for each product (root included), its leaf range and split.
  struct Node {
    unsigned lo, hi, split; // leaves [lo, split] x [split + 1, hi]
  };
  SmallVector<Node> nodes;
};

unsigned collect(Value v, Operation *user, Chain &chain) {
  // Returns the index of the last leaf of `v`'s subtree.
  if (linalg::MatmulOp mm = innerProduct(v, user)) {
    chain.products.push_back(mm);
    unsigned lo = chain.leaves.size();
    unsigned split = collect(mm.getInputs()[0], mm, chain);
    unsigned hi = collect(mm.getInputs()[1], mm, chain);
    chain.nodes.push_back({lo, hi, split});
    return hi;
  }
  chain.leaves.push_back(v);
  return chain.leaves.size() - 1;
}

std::string render(unsigned lo, unsigned hi, bool top,
                   const std::function<unsigned(unsigned, unsigned)> &split) {
  if (lo == hi) {
    // Leaves are named A, B, C, ... in chain order (then M26, M27, ...).
    return lo < 26 ? std::string(1, static_cast<char>('A' + lo))
                   : "M" + std::to_string(lo);
  }
  unsigned s = split(lo, hi);
  std::string text = render(lo, s, false, split) + "\u00b7" +
                     render(s + 1, hi, false, split);
  return top ? text : "(" + text + ")";
}

struct ReassociateMatmulChainsPass
    : PassWrapper<ReassociateMatmulChainsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ReassociateMatmulChainsPass)

  StringRef getArgument() const final {
    return "mlirboot-reassociate-matmul-chains";
  }
  StringRef getDescription() const final {
    return "Rebuild chains of tensor linalg.matmul in the parenthesization "
           "with the fewest multiplies (matrix-chain DP on static shapes)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect, tensor::TensorDialect,
                    arith::ArithDialect>();
  }

  void runOnOperation() override {
    SmallVector<linalg::MatmulOp> roots;
    getOperation()->walk([&](linalg::MatmulOp mm) {
      if (!isPlainMatmul(mm))
        return;
      // Not a root when it is an inner product of its (single) user.
      Value r = mm.getResult(0);
      if (r.hasOneUse()) {
        auto user = dyn_cast<linalg::MatmulOp>(*r.getUsers().begin());
        if (user && isPlainMatmul(user) && innerProduct(r, user) &&
            llvm::is_contained(user.getInputs(), r))
          return;
      }
      roots.push_back(mm);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::MatmulOp root : roots)
      reassociate(rewriter, root);
  }

  void reassociate(IRRewriter &rewriter, linalg::MatmulOp root) {
    Chain chain;
    unsigned split = collect(root.getInputs()[0], root, chain);
    unsigned hi = collect(root.getInputs()[1], root, chain);
    chain.nodes.push_back({0, hi, split});
    unsigned n = chain.leaves.size();
    if (n < 3)
      return;

    // dims[i] x dims[i+1] is the shape of leaf i.
    SmallVector<int64_t> dims;
    for (auto [i, leaf] : llvm::enumerate(chain.leaves)) {
      auto shape = cast<RankedTensorType>(leaf.getType()).getShape();
      if (i == 0)
        dims.push_back(shape[0]);
      else if (dims.back() != shape[0])
        return; // verifier guarantees this; stay safe on odd IR
      dims.push_back(shape[1]);
    }

    using Cost = unsigned __int128;
    auto mulCost = [&](unsigned lo, unsigned s, unsigned hi) -> Cost {
      return Cost(dims[lo]) * Cost(dims[s + 1]) * Cost(dims[hi + 1]);
    };
    Cost written = 0;
    llvm::DenseMap<std::pair<unsigned, unsigned>, unsigned> writtenSplit;
    for (const Chain::Node &node : chain.nodes) {
      written += mulCost(node.lo, node.split, node.hi);
      writtenSplit[{node.lo, node.hi}] = node.split;
    }

    // Matrix-chain DP: best[lo][hi], with the split that achieves it.
    std::vector<std::vector<Cost>> best(n, std::vector<Cost>(n, 0));
    std::vector<std::vector<unsigned>> bestSplit(n, std::vector<unsigned>(n, 0));
    for (unsigned len = 2; len <= n; ++len) {
      for (unsigned lo = 0; lo + len - 1 < n; ++lo) {
        unsigned h = lo + len - 1;
        bool first = true;
        for (unsigned s = lo; s < h; ++s) {
          Cost c = best[lo][s] + best[s + 1][h] + mulCost(lo, s, h);
          if (first || c < best[lo][h]) {
            best[lo][h] = c;
            bestSplit[lo][h] = s;
            first = false;
          }
        }
      }
    }
    Cost optimal = best[0][n - 1];
    if (optimal >= written)
      return;

    Type elemType = getElementTypeOrSelf(root.getResult(0).getType());
    Location loc = root.getLoc();
    rewriter.setInsertionPoint(root);
    Value zero = arith::ConstantOp::create(rewriter, loc, elemType,
                                           rewriter.getZeroAttr(elemType));
    std::function<Value(unsigned, unsigned, bool)> build =
        [&](unsigned lo, unsigned h, bool top) -> Value {
      if (lo == h)
        return chain.leaves[lo];
      unsigned s = bestSplit[lo][h];
      Value l = build(lo, s, false);
      Value r = build(s + 1, h, false);
      Value init = root.getOutputs()[0];
      if (!top) {
        Value empty = tensor::EmptyOp::create(
            rewriter, loc, ArrayRef<int64_t>{dims[lo], dims[h + 1]}, elemType);
        init = linalg::FillOp::create(rewriter, loc, ValueRange{zero},
                                      ValueRange{empty})
                   .getResult(0);
      }
      return linalg::MatmulOp::create(rewriter, loc, TypeRange{init.getType()},
                                      ValueRange{l, r}, ValueRange{init})
          .getResult(0);
    };
    Value replacement = build(0, n - 1, true);

    auto toString = [](Cost c) {
      std::string s;
      do {
        s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(c % 10)));
        c /= 10;
      } while (c != 0);
      return s;
    };
    std::function<unsigned(unsigned, unsigned)> oldSplit =
        [&](unsigned lo, unsigned h) { return writtenSplit.lookup({lo, h}); };
    std::function<unsigned(unsigned, unsigned)> newSplit =
        [&](unsigned lo, unsigned h) { return bestSplit[lo][h]; };
    root->emitRemark() << "mlirboot: reassociated matmul chain "
                       << render(0, n - 1, true, oldSplit) << " -> "
                       << render(0, n - 1, true, newSplit) << ": cost "
                       << toString(written) << " -> " << toString(optimal)
                       << " multiplies";

    rewriter.replaceOp(root, replacement);
    // The written inner products are dead now (each had one use, inside the
    // chain); erase them users-first, then their fills if nothing else uses
    // them.
    SmallVector<Operation *> dead(chain.products.begin(), chain.products.end());
    bool progress = true;
    while (progress) {
      progress = false;
      for (Operation *&op : dead) {
        if (!op || !op->use_empty())
          continue;
        Value init = cast<linalg::MatmulOp>(op).getOutputs()[0];
        rewriter.eraseOp(op);
        op = nullptr;
        progress = true;
        if (Operation *fill = init.getDefiningOp(); fill && fill->use_empty())
          rewriter.eraseOp(fill);
      }
    }
  }
};

} // namespace mlirboot_chain

void mlirboot::registerReassociateMatmulChainsPass() {
  mlir::PassRegistration<mlirboot_chain::ReassociateMatmulChainsPass>();
}
