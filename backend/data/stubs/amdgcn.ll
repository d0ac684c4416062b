; Generic-mode kernel entry without the OpenMP device runtime: work-item 0 of
; work-group 0 runs the (serial) target region, the others exit.
declare i32 @llvm.amdgcn.workitem.id.x()
declare i32 @llvm.amdgcn.workgroup.id.x()

define i32 @__kmpc_target_init(ptr %kernel_env, ptr %launch_env) {
  %t = call i32 @llvm.amdgcn.workitem.id.x()
  %b = call i32 @llvm.amdgcn.workgroup.id.x()
  %tb = or i32 %t, %b
  %first = icmp eq i32 %tb, 0
  %r = select i1 %first, i32 -1, i32 0
  ret i32 %r
}

define void @__kmpc_target_deinit() {
  ret void
}
