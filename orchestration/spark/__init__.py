"""The `spark` engine (docs/spec.md section 7): the same pipeline on Apache Spark.

Nothing here is imported when the code location loads: pyspark (and its JVM) start only in the
steps of a run on the spark engine.
"""
