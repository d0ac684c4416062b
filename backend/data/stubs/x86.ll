; Generic-mode kernel entry for x86_64 as the offload device. MLIR's omp.target
; lowering calls these; GPU device runtimes provide them, nothing does for the
; host plugin. -1 means "this thread runs the target region".
define i32 @__kmpc_target_init(ptr %kernel_env, ptr %launch_env) {
  ret i32 -1
}

define void @__kmpc_target_deinit() {
  ret void
}
