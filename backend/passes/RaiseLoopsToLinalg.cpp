//===- RaiseLoopsToLinalg.cpp - loop nests -> named linalg ops ------------===//
//
// mlirboot-raise-loops-to-linalg: recognizes a contraction written as a loop
// nest (scf.for / affine.for over memref.load/store or affine.load/store) and
// raises it to linalg. Two shapes of nest are accepted:
//
//   "update" form:    for i, j, k:  C[i,j] = C[i,j] + A[i,k] * B[k,j]
//   "iter_args" form: for i, j { s = for k iter_args(acc = init) {
//                                  acc + A[i,k] * B[k,j] }; C[i,j] = s }
//
// where init is a load of C[i,j] (accumulate) or a loop-invariant scalar
// (fresh accumulator: linalg.fill + op). The nest is first expressed as a
// linalg.generic; upstream's specializeGenericOp then names it
// (matmul, batch_matmul, conv_2d, conv_2d_nhwc_hwcf, ...). If upstream cannot
// name it, or names it with different indexing maps, the IR is left untouched:
// the pass only raises what it can prove equal to a named op.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

// Named (not anonymous) so the unity build can merge files without clashes.
namespace mlirboot_raise {

/// One loop of the nest, abstracted over scf.for and affine.for. Only loops
/// `for iv = 0 to N step 1` with a constant N and at most one iter_arg match.
struct NestLoop {
  Operation *op = nullptr;
  Value iv;
  int64_t tripCount = 0;
  // Set only for reduction loops (exactly one iter_arg).
  Value init, iterArg, yielded, result;
};

std::optional<NestLoop> matchUnitLoop(Operation *op) {
  NestLoop l;
  l.op = op;
  if (auto f = dyn_cast<scf::ForOp>(op)) {
    std::optional<int64_t> lb = getConstantIntValue(f.getLowerBound());
    std::optional<int64_t> step = getConstantIntValue(f.getStep());
    std::optional<int64_t> ub = getConstantIntValue(f.getUpperBound());
    if (!lb || *lb != 0 || !step || *step != 1 || !ub || *ub <= 0 ||
        f.getNumRegionIterArgs() > 1 || !f.getInductionVar().getType().isIndex())
      return std::nullopt;
    l.iv = f.getInductionVar();
    l.tripCount = *ub;
    if (f.getNumRegionIterArgs() == 1) {
      l.init = f.getInitArgs()[0];
      l.iterArg = f.getRegionIterArgs()[0];
      l.yielded = f.getBody()->getTerminator()->getOperand(0);
      l.result = f.getResult(0);
    }
    return l;
  }
  if (auto f = dyn_cast<affine::AffineForOp>(op)) {
    if (!f.hasConstantLowerBound() || f.getConstantLowerBound() != 0 ||
        f.getStepAsInt() != 1 || !f.hasConstantUpperBound() ||
        f.getConstantUpperBound() <= 0 || f.getNumIterOperands() > 1)
      return std::nullopt;
    l.iv = f.getInductionVar();
    l.tripCount = f.getConstantUpperBound();
    if (f.getNumIterOperands() == 1) {
      l.init = f.getInits()[0];
      l.iterArg = f.getRegionIterArgs()[0];
      l.yielded = f.getBody()->getTerminator()->getOperand(0);
      l.result = f.getResult(0);
    }
    return l;
  }
  return std::nullopt;
}

bool isLoop(Operation *op) { return isa<scf::ForOp, affine::AffineForOp>(op); }

/// Index arithmetic over the nest's induction variables, as affine exprs.
class IndexAnalysis {
public:
  IndexAnalysis(MLIRContext *ctx, const DenseMap<Value, unsigned> &ivDims)
      : ctx(ctx), ivDims(ivDims) {}

  std::optional<AffineExpr> expr(Value v) const {
    if (auto it = ivDims.find(v); it != ivDims.end())
      return getAffineDimExpr(it->second, ctx);
    if (!v.getType().isIndex())
      return std::nullopt;
    if (std::optional<int64_t> c = getConstantIntValue(v))
      return getAffineConstantExpr(*c, ctx);
    Operation *def = v.getDefiningOp();
    if (!def)
      return std::nullopt;
    if (auto add = dyn_cast<arith::AddIOp>(def)) {
      auto l = expr(add.getLhs()), r = expr(add.getRhs());
      if (!l || !r)
        return std::nullopt;
      return *l + *r;
    }
    if (auto mul = dyn_cast<arith::MulIOp>(def)) {
      auto l = expr(mul.getLhs()), r = expr(mul.getRhs());
      // Only strides (iv * constant) stay affine.
      if (!l || !r || (!isa<AffineConstantExpr>(*l) &&
                       !isa<AffineConstantExpr>(*r)))
        return std::nullopt;
      return *l * *r;
    }
    if (auto apply = dyn_cast<affine::AffineApplyOp>(def)) {
      auto res = applyMap(apply.getAffineMap(), apply.getMapOperands());
      if (!res)
        return std::nullopt;
      return (*res)[0];
    }
    return std::nullopt;
  }

  std::optional<SmallVector<AffineExpr>> applyMap(AffineMap map,
                                                  ValueRange operands) const {
    SmallVector<AffineExpr> dims, syms;
    for (auto [i, operand] : llvm::enumerate(operands)) {
      std::optional<AffineExpr> e = expr(operand);
      if (!e)
        return std::nullopt;
      (i < map.getNumDims() ? dims : syms).push_back(*e);
    }
    SmallVector<AffineExpr> results;
    for (AffineExpr r : map.getResults())
      results.push_back(r.replaceDimsAndSymbols(dims, syms));
    return results;
  }

  std::optional<SmallVector<AffineExpr>> exprs(ValueRange indices) const {
    SmallVector<AffineExpr> results;
    for (Value v : indices) {
      std::optional<AffineExpr> e = expr(v);
      if (!e)
        return std::nullopt;
      results.push_back(*e);
    }
    return results;
  }

private:
  MLIRContext *ctx;
  const DenseMap<Value, unsigned> &ivDims;
};

/// A memref access with its indices as affine exprs over the loop dims.
struct Access {
  Operation *op = nullptr;
  Value memref;
  SmallVector<AffineExpr> exprs;
};

std::optional<Access> matchLoad(Value v, const IndexAnalysis &ia) {
  Operation *def = v.getDefiningOp();
  if (auto load = dyn_cast_or_null<memref::LoadOp>(def)) {
    if (auto e = ia.exprs(load.getIndices()))
      return Access{load, load.getMemRef(), *e};
  } else if (auto load = dyn_cast_or_null<affine::AffineLoadOp>(def)) {
    if (auto e = ia.applyMap(load.getAffineMap(), load.getMapOperands()))
      return Access{load, load.getMemRef(), *e};
  }
  return std::nullopt;
}

std::optional<Access> matchStore(Operation *op, const IndexAnalysis &ia,
                                 Value &stored) {
  if (auto st = dyn_cast<memref::StoreOp>(op)) {
    stored = st.getValueToStore();
    if (auto e = ia.exprs(st.getIndices()))
      return Access{st, st.getMemRef(), *e};
  } else if (auto st = dyn_cast<affine::AffineStoreOp>(op)) {
    stored = st.getValueToStore();
    if (auto e = ia.applyMap(st.getAffineMap(), st.getMapOperands()))
      return Access{st, st.getMemRef(), *e};
  }
  return std::nullopt;
}

bool isMulOf(Operation *op, Type t) {
  if (!op || op->getResult(0).getType() != t)
    return false;
  return isa<FloatType>(t) ? isa<arith::MulFOp>(op) : isa<arith::MulIOp>(op);
}

bool isAddOf(Operation *op, Type t) {
  if (!op || op->getResult(0).getType() != t)
    return false;
  return isa<FloatType>(t) ? isa<arith::AddFOp>(op) : isa<arith::AddIOp>(op);
}

/// Exprs the bounds check can reason about: sums of dims times non-negative
/// constants plus a non-negative constant (monotone, minimum 0).
bool isMonotone(AffineExpr e) {
  if (isa<AffineDimExpr>(e))
    return true;
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue() >= 0;
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return false;
  if (e.getKind() == AffineExprKind::Add)
    return isMonotone(bin.getLHS()) && isMonotone(bin.getRHS());
  if (e.getKind() == AffineExprKind::Mul)
    return isMonotone(bin.getLHS()) && isMonotone(bin.getRHS());
  return false;
}

bool definedOutside(Value v, Operation *root) {
  Operation *scope = v.getParentRegion()->getParentOp();
  if (Operation *def = v.getDefiningOp())
    scope = def;
  return !root->isAncestor(scope);
}

/// The buffer a memref value views (follows subview, cast, reinterpret...).
Value baseBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Everything needed to build the linalg form of a matched nest.
struct RaisePlan {
  Access lhs, rhs, out;
  SmallVector<NestLoop> loops;
  SmallVector<bool> isReduction; // per loop dim
  Type elemType;
  Value fillValue; // null: accumulate into `out`
};

FailureOr<RaisePlan> matchNest(Operation *root) {
  RaisePlan plan;
  // 1. A single chain of loops: each body holds at most one loop.
  for (Operation *cur = root; cur;) {
    std::optional<NestLoop> l = matchUnitLoop(cur);
    if (!l)
      return failure();
    plan.loops.push_back(*l);
    Operation *next = nullptr;
    for (Operation &op : *cur->getRegion(0).begin()) {
      if (!isLoop(&op))
        continue;
      if (next)
        return failure();
      next = &op;
    }
    cur = next;
  }
  // Loops without iter_args (parallel candidates) come first, the reduction
  // loops carrying the accumulator after them.
  unsigned numOuter = 0;
  while (numOuter < plan.loops.size() && !plan.loops[numOuter].iterArg)
    ++numOuter;
  for (unsigned i = numOuter; i < plan.loops.size(); ++i)
    if (!plan.loops[i].iterArg)
      return failure();
  if (numOuter == 0)
    return failure();
  bool iterArgsForm = numOuter < plan.loops.size();

  MLIRContext *ctx = root->getContext();
  DenseMap<Value, unsigned> ivDims;
  for (auto [i, l] : llvm::enumerate(plan.loops))
    ivDims[l.iv] = i;
  IndexAnalysis ia(ctx, ivDims);

  // 2. Exactly one store, in the body of the innermost outer loop.
  Operation *storeOp = nullptr;
  bool multipleStores = false;
  root->walk([&](Operation *op) {
    if (isa<memref::StoreOp, affine::AffineStoreOp>(op)) {
      multipleStores |= storeOp != nullptr;
      storeOp = op;
    }
  });
  if (!storeOp || multipleStores)
    return failure();
  Block *storeBlock = &plan.loops[numOuter - 1].op->getRegion(0).front();
  if (storeOp->getBlock() != storeBlock)
    return failure();
  Value stored;
  std::optional<Access> out = matchStore(storeOp, ia, stored);
  if (!out)
    return failure();
  plan.out = *out;
  auto outType = dyn_cast<MemRefType>(out->memref.getType());
  if (!outType)
    return failure();
  Type t = outType.getElementType();
  if (!isa<FloatType>(t) && !(isa<IntegerType>(t)))
    return failure();
  plan.elemType = t;

  llvm::SmallPtrSet<Operation *, 16> matched;
  matched.insert(storeOp);
  auto isOutLoad = [&](Value v) -> bool {
    std::optional<Access> a = matchLoad(v, ia);
    if (!a || a->memref != out->memref || a->exprs != out->exprs ||
        a->op->getBlock() != storeBlock)
      return false;
    matched.insert(a->op);
    return true;
  };

  // 3. The accumulation: sum = acc + x * y (either operand order).
  Value acc, x, y;
  auto matchMulAdd = [&](Value sum, function_ref<bool(Value)> isAcc) -> bool {
    Operation *add = sum.getDefiningOp();
    if (!isAddOf(add, t))
      return false;
    for (unsigned i = 0; i < 2; ++i) {
      Value a = add->getOperand(i), m = add->getOperand(1 - i);
      Operation *mul = m.getDefiningOp();
      if (!isAcc(a) || !isMulOf(mul, t))
        continue;
      matched.insert(add);
      matched.insert(mul);
      acc = a;
      x = mul->getOperand(0);
      y = mul->getOperand(1);
      return true;
    }
    return false;
  };

  if (iterArgsForm) {
    ArrayRef<NestLoop> red = ArrayRef(plan.loops).drop_front(numOuter);
    if (stored != red.front().result || !red.front().result.hasOneUse())
      return failure();
    for (unsigned k = 0; k + 1 < red.size(); ++k) {
      if (red[k].yielded != red[k + 1].result ||
          red[k + 1].init != red[k].iterArg || !red[k].iterArg.hasOneUse() ||
          !red[k + 1].result.hasOneUse())
        return failure();
    }
    Value inner = red.back().iterArg;
    if (!inner.hasOneUse() ||
        !matchMulAdd(red.back().yielded, [&](Value v) { return v == inner; }))
      return failure();
    Value init = red.front().init;
    if (init.getType() != t)
      return failure();
    if (!isOutLoad(init)) {
      // A fresh accumulator: any scalar that is the same on every iteration.
      bool invariant = definedOutside(init, root) ||
                       init.getDefiningOp<arith::ConstantOp>();
      if (!invariant)
        return failure();
      plan.fillValue = init;
    }
  } else {
    if (!matchMulAdd(stored, isOutLoad))
      return failure();
  }

  std::optional<Access> lhs = matchLoad(x, ia), rhs = matchLoad(y, ia);
  if (!lhs || !rhs)
    return failure();
  matched.insert(lhs->op);
  matched.insert(rhs->op);
  plan.lhs = *lhs;
  plan.rhs = *rhs;

  // 4. Operands: static memrefs of the same element type, defined outside the
  // nest, and the output is neither input (no in-place aliasing via SSA).
  for (Access *a : {&plan.lhs, &plan.rhs, &plan.out}) {
    auto mt = dyn_cast<MemRefType>(a->memref.getType());
    if (!mt || !mt.hasStaticShape() || mt.getElementType() != t ||
        !definedOutside(a->memref, root) ||
        static_cast<int64_t>(a->exprs.size()) != mt.getRank())
      return failure();
  }
  // Through views (subview, cast, ...) too: the iter_args form keeps the
  // accumulator in a register, linalg re-reads the output buffer.
  if (baseBuffer(plan.lhs.memref) == baseBuffer(plan.out.memref) ||
      baseBuffer(plan.rhs.memref) == baseBuffer(plan.out.memref))
    return failure();

  // 5. Iteration space: the output is indexed by distinct loop dims (the
  // parallel ones); every other dim is a reduction. Every dim appears
  // directly as some operand index whose extent equals the trip count.
  unsigned numDims = plan.loops.size();
  plan.isReduction.assign(numDims, true);
  for (AffineExpr e : plan.out.exprs) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || !plan.isReduction[d.getPosition()])
      return failure();
    plan.isReduction[d.getPosition()] = false;
  }
  for (unsigned d = 0; d < numDims; ++d)
    if (iterArgsForm && plan.isReduction[d] != (d >= numOuter))
      return failure();
  SmallVector<bool> hasDirectUse(numDims, false);
  for (Access *a : {&plan.lhs, &plan.rhs, &plan.out}) {
    auto shape = cast<MemRefType>(a->memref.getType()).getShape();
    for (auto [pos, e] : llvm::enumerate(a->exprs)) {
      if (!isMonotone(e))
        return failure();
      if (auto d = dyn_cast<AffineDimExpr>(e)) {
        if (shape[pos] != plan.loops[d.getPosition()].tripCount)
          return failure();
        hasDirectUse[d.getPosition()] = true;
        continue;
      }
      // Compound index (conv window): largest value must stay in bounds.
      SmallVector<AffineExpr> maxDims;
      for (const NestLoop &l : plan.loops)
        maxDims.push_back(getAffineConstantExpr(l.tripCount - 1, root->getContext()));
      auto maxVal = dyn_cast<AffineConstantExpr>(
          e.replaceDimsAndSymbols(maxDims, {}));
      if (!maxVal || maxVal.getValue() >= shape[pos])
        return failure();
    }
  }
  if (llvm::is_contained(hasDirectUse, false))
    return failure();

  // 6. Nothing else happens in the nest: only the loops, the matched memory
  // ops and arithmetic, and pure index computations / constants.
  bool clean = true;
  root->walk([&](Operation *op) {
    if (isLoop(op) || matched.contains(op) ||
        isa<arith::ConstantOp, affine::AffineApplyOp>(op))
      return;
    if (isa<scf::YieldOp, affine::AffineYieldOp>(op) && isLoop(op->getParentOp()))
      return;
    if (isa<arith::AddIOp, arith::MulIOp>(op) &&
        op->getResult(0).getType().isIndex())
      return;
    clean = false;
  });
  if (!clean)
    return failure();
  return plan;
}

/// Dims renumbered canonically (parallel dims in output order, then
/// reductions in order of first use), the order named ops use.
SmallVector<unsigned> canonicalDimOrder(const RaisePlan &plan) {
  unsigned numDims = plan.loops.size();
  SmallVector<unsigned> order;
  llvm::DenseSet<unsigned> seen;
  auto visit = [&](AffineExpr e) {
    e.walk([&](AffineExpr sub) {
      if (auto d = dyn_cast<AffineDimExpr>(sub))
        if (seen.insert(d.getPosition()).second)
          order.push_back(d.getPosition());
    });
  };
  for (AffineExpr e : plan.out.exprs)
    visit(e);
  for (const Access *a : {&plan.lhs, &plan.rhs})
    for (AffineExpr e : a->exprs)
      visit(e);
  assert(order.size() == numDims && "every dim is used");
  (void)numDims;
  // newPos[old] = position in the canonical order.
  SmallVector<unsigned> newPos(order.size());
  for (auto [i, old] : llvm::enumerate(order))
    newPos[old] = i;
  return newPos;
}

struct RaiseLoopsToLinalgPass
    : PassWrapper<RaiseLoopsToLinalgPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(RaiseLoopsToLinalgPass)

  StringRef getArgument() const final {
    return "mlirboot-raise-loops-to-linalg";
  }
  StringRef getDescription() const final {
    return "Raise matmul / batch_matmul / conv loop nests (scf.for or "
           "affine.for over memrefs) to named linalg ops";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect, arith::ArithDialect>();
  }

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isLoop(op))
        candidates.push_back(op);
    });
    llvm::DenseSet<Operation *> erased;
    IRRewriter rewriter(&getContext());
    for (Operation *root : candidates) {
      if (erased.contains(root))
        continue;
      FailureOr<RaisePlan> plan = matchNest(root);
      if (failed(plan))
        continue;
      if (failed(raise(rewriter, root, *plan)))
        continue;
      root->walk([&](Operation *op) { erased.insert(op); });
      rewriter.eraseOp(root);
    }
  }

  /// Builds the linalg form before `root`; on success `root` is dead.
  LogicalResult raise(IRRewriter &rewriter, Operation *root,
                      const RaisePlan &plan) {
    MLIRContext *ctx = root->getContext();
    Location loc = root->getLoc();
    unsigned numDims = plan.loops.size();
    SmallVector<unsigned> newPos = canonicalDimOrder(plan);
    SmallVector<AffineExpr> renamed(numDims);
    for (unsigned d = 0; d < numDims; ++d)
      renamed[d] = getAffineDimExpr(newPos[d], ctx);
    auto mapOf = [&](const Access &a) {
      SmallVector<AffineExpr> results;
      for (AffineExpr e : a.exprs)
        results.push_back(e.replaceDims(renamed));
      return AffineMap::get(numDims, 0, results, ctx);
    };
    SmallVector<utils::IteratorType> iters(numDims);
    SmallVector<int64_t> ranges(numDims);
    for (unsigned d = 0; d < numDims; ++d) {
      iters[newPos[d]] = plan.isReduction[d] ? utils::IteratorType::reduction
                                             : utils::IteratorType::parallel;
      ranges[newPos[d]] = plan.loops[d].tripCount;
    }
    bool isFloat = isa<FloatType>(plan.elemType);

    rewriter.setInsertionPoint(root);
    Operation *fill = nullptr;
    if (plan.fillValue) {
      Value v = plan.fillValue;
      if (!definedOutside(v, root))
        v = rewriter.clone(*v.getDefiningOp())->getResult(0);
      fill = linalg::FillOp::create(rewriter, loc, ValueRange{v},
                                    ValueRange{plan.out.memref});
    }
    // The product commutes, so either input order is the same computation;
    // upstream only names the order it expects.
    for (bool swap : {false, true}) {
      const Access &a = swap ? plan.rhs : plan.lhs;
      const Access &b = swap ? plan.lhs : plan.rhs;
      SmallVector<AffineMap> maps = {mapOf(a), mapOf(b), mapOf(plan.out)};
      auto generic = linalg::GenericOp::create(
          rewriter, loc, TypeRange{}, ValueRange{a.memref, b.memref},
          ValueRange{plan.out.memref}, maps, iters,
          [&](OpBuilder &bb, Location l, ValueRange args) {
            Value m = isFloat ? arith::MulFOp::create(bb, l, args[0], args[1])
                                    .getResult()
                              : arith::MulIOp::create(bb, l, args[0], args[1])
                                    .getResult();
            Value s = isFloat
                          ? arith::AddFOp::create(bb, l, args[2], m).getResult()
                          : arith::AddIOp::create(bb, l, args[2], m).getResult();
            linalg::YieldOp::create(bb, l, s);
          });
      FailureOr<linalg::LinalgOp> named =
          linalg::specializeGenericOp(rewriter, generic);
      if (failed(named)) {
        rewriter.eraseOp(generic);
        continue;
      }
      // Upstream's matmul specialization accepts a transposed operand map but
      // builds a plain matmul; only keep a named op that computes exactly
      // what the generic (i.e. the loop nest) computed.
      if (isa<linalg::GenericOp>(*named) ||
          named->getIndexingMapsArray() != maps ||
          named->getIteratorTypesArray() != iters) {
        rewriter.eraseOp(*named);
        continue;
      }
      std::string shape;
      llvm::raw_string_ostream os(shape);
      for (auto [i, r] : llvm::enumerate(ranges))
        os << (i ? "x" : "") << r;
      os << " " << plan.elemType;
      InFlightDiagnostic diag = named->getOperation()->emitRemark();
      diag << "mlirboot: raised loop nest to "
           << named->getOperation()->getName() << " (" << shape << ")";
      if (fill)
        diag << " with linalg.fill of the fresh accumulator";
      return success();
    }
    if (fill)
      rewriter.eraseOp(fill);
    return failure();
  }
};

} // namespace mlirboot_raise

void mlirboot::registerRaiseLoopsToLinalgPass() {
  mlir::PassRegistration<mlirboot_raise::RaiseLoopsToLinalgPass>();
}
