import Prototypes
import SessionGateCore

/// Prototype versions of core functions ("proto" group), each next to the original it replaces.
func prototypeBenchmarks(_ f: Fixtures) -> [Benchmark] {
    []
}

/// Each prototype must give exactly what the original gives on the benchmark inputs.
func checkPrototypes(_ f: Fixtures) {}
