"""The graph canvas: a QGraphicsScene that mirrors the execution graph, one module per item kind."""
