import Foundation

/// What a python3 run printed and how it ended.
struct PythonRun {
    let status: Int32
    let stdout: Data
    let stderr: String
}

/// Runs `python3 arguments…` with `input` on stdin and collects its output. The input is written
/// from its own thread, so a large input cannot deadlock against python filling its stdout pipe.
/// Blocks until python exits: call it off the Swift concurrency pool for long runs.
func runPython3(_ arguments: [String], input: Data) throws -> PythonRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let writer = stdin.fileHandleForWriting
    Thread {
        writer.write(input)
        try? writer.close()
    }.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return PythonRun(status: process.terminationStatus, stdout: output, stderr: String(decoding: errors, as: UTF8.self))
}
