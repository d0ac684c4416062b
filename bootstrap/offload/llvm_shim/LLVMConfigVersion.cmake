# mlirboot: the installed LLVM's version file (see LLVMConfig.cmake here).
include("${MLIRBOOT_LLVM_CMAKE_DIR}/LLVMConfigVersion.cmake")
