@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStub(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { 0 }
