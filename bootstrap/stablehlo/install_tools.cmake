# Included after StableHLO's project() (CMAKE_PROJECT_stablehlo_INCLUDE).
# StableHLO defines stablehlo-opt and stablehlo-translate with
# add_llvm_executable, which gives them no install rule in a standalone build:
# `ninja install` put only the libraries into the prefix. Install the two
# tools from the build tree (LLVM's tool output dir, <build>/bin).
install(
  PROGRAMS
    "${CMAKE_BINARY_DIR}/bin/stablehlo-opt"
    "${CMAKE_BINARY_DIR}/bin/stablehlo-translate"
  DESTINATION bin
)
