import MallocCounter

/// Keeps a result alive: an unoptimised call the optimiser cannot see through, so the work that
/// produced `value` cannot be removed.
@inline(never) @_optimize(none)
func blackHole<T>(_ value: T) {}

/// Hides a value from the optimiser, so inputs are not constant-folded into the measured code.
@inline(never) @_optimize(none)
func opaque<T>(_ value: T) -> T { value }

/// One benchmark: `run(n)` performs the operation `n` times and sinks every result.
struct Benchmark {
    let group: String
    let name: String
    let run: (Int) -> Void

    var fullName: String { group + "/" + name }
}

/// What one benchmark measured.
struct Measurement {
    let benchmark: Benchmark
    let iterations: Int
    /// ns/op of each timed round, in round order.
    let rounds: [Double]
    let allocationsPerOp: Double?
    let bytesPerOp: Double?

    var median: Double { rounds.sorted()[rounds.count / 2] }
    var fastest: Double { rounds.min() ?? .nan }
    /// (slowest - fastest) / median: how noisy the rounds were.
    var spread: Double { ((rounds.max() ?? .nan) - fastest) / median }
}

/// Harness settings, from the command line.
struct Settings {
    /// Target duration of one timed round.
    var roundMilliseconds = 200
    var rounds = 5
    /// Iterations used to count allocations (allocations are deterministic, so few suffice).
    var allocationIterations = 1000
    /// Substrings: a benchmark runs when its "group/name" contains any of them (all when empty).
    var filters: [String] = []
    var list = false
    /// Instead of timing: run each benchmark this many times inside `Harness.fixedRun` (for
    /// `valgrind --tool=callgrind --toggle-collect='*fixedRun*'`, which counts instructions).
    var fixedIterations: Int?
}

enum Harness {
    static let clock = ContinuousClock()

    static func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }

    static func time(_ benchmark: Benchmark, iterations: Int) -> Double {
        let start = clock.now
        benchmark.run(iterations)
        return nanoseconds(clock.now - start)
    }

    /// Doubles the iteration count until a run takes ≥ 10 ms, then scales it to the round target.
    /// The calibration runs double as warm-up (caches, branch predictors, lazy globals).
    static func calibrate(_ benchmark: Benchmark, roundMilliseconds: Int) -> Int {
        var iterations = 1
        var elapsed = time(benchmark, iterations: iterations)
        while elapsed < 10_000_000, iterations < 1 << 40 {
            iterations *= 2
            elapsed = time(benchmark, iterations: iterations)
        }
        let perOp = elapsed / Double(iterations)
        return max(1, Int(Double(roundMilliseconds) * 1e6 / perOp))
    }

    /// Whether this executable's malloc replaced libc's for the Swift runtime too.
    static let countsAllocations: Bool = {
        let before = malloc_counter_allocations()
        blackHole([UInt8](repeating: opaque(7), count: opaque(100)))
        return malloc_counter_allocations() > before
    }()

    /// Runs a benchmark `iterations` times, untimed; its own symbol so callgrind can count only it.
    @inline(never)
    static func fixedRun(_ benchmark: Benchmark, iterations: Int) {
        benchmark.run(iterations)
    }

    static func measure(_ benchmark: Benchmark, settings: Settings) -> Measurement {
        let iterations = calibrate(benchmark, roundMilliseconds: settings.roundMilliseconds)
        _ = time(benchmark, iterations: iterations)  // one full warm-up round
        var rounds: [Double] = []
        for _ in 0..<settings.rounds {
            rounds.append(time(benchmark, iterations: iterations) / Double(iterations))
        }
        var allocations: Double?
        var bytes: Double?
        if countsAllocations {
            let count = settings.allocationIterations
            let allocationsBefore = malloc_counter_allocations()
            let bytesBefore = malloc_counter_bytes()
            benchmark.run(count)
            allocations = Double(malloc_counter_allocations() - allocationsBefore) / Double(count)
            bytes = Double(malloc_counter_bytes() - bytesBefore) / Double(count)
        }
        return Measurement(
            benchmark: benchmark, iterations: iterations, rounds: rounds, allocationsPerOp: allocations,
            bytesPerOp: bytes)
    }
}

/// Fixed-width table output.
enum Report {
    static let columns: [(title: String, width: Int, leftAligned: Bool)] = [
        ("benchmark", 52, true), ("ns/op (median)", 14, false), ("min ns/op", 10, false),
        ("spread", 7, false), ("ops/s", 12, false), ("allocs/op", 9, false), ("B/op", 7, false),
    ]

    static func pad(_ text: String, _ width: Int, left: Bool) -> String {
        let count = text.count
        guard count < width else { return text }
        let fill = String(repeating: " ", count: width - count)
        return left ? text + fill : fill + text
    }

    static func row(_ cells: [String]) -> String {
        zip(cells, columns).map { pad($0, $1.width, left: $1.leftAligned) }.joined(separator: " | ")
    }

    static func header() -> String {
        let titles = row(columns.map(\.title))
        let rule = columns.map { String(repeating: "-", count: $0.width) }.joined(separator: "-|-")
        return titles + "\n" + rule
    }

    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int64(rounded)) }
        let whole = Int64(rounded.rounded(.towardZero))
        let fraction = Int64(((abs(rounded) - Double(abs(whole))) * scale).rounded())
        let digits = String(fraction)
        return "\(rounded < 0 && whole == 0 ? "-" : "")\(whole)."
            + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
    }

    static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let digits = Array(String(Int64(value.rounded())))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    static func line(_ measurement: Measurement) -> String {
        let median = measurement.median
        return row([
            measurement.benchmark.fullName,
            format(median, decimals: median < 100 ? 1 : 0),
            format(measurement.fastest, decimals: measurement.fastest < 100 ? 1 : 0),
            format(measurement.spread * 100, decimals: 0) + "%",
            grouped(1e9 / median),
            measurement.allocationsPerOp.map { format($0, decimals: 1) } ?? "n/a",
            measurement.bytesPerOp.map { format($0, decimals: 0) } ?? "n/a",
        ])
    }
}
