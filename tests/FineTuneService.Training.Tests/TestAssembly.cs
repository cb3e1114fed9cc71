// Test classes run one at a time. Trainers force a full GC every step (flat RSS), and TorchSharp 0.107 hands
// short-lived native Scalars to libtorch without keeping them alive: another class's GC in parallel finalized one
// mid-call inside AdamW.step ("Expected false to be true ... Scalar::toDouble", seen once in a full run).
// Seeded torch RNG state is process-wide as well.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
