"""The source view: a manifest, read-only, with line numbers, YAML colours and a line marked.

It mirrors the session's pack: opening another pack shows that pack's text,
and a problem's location is revealed when the session asks for it.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRegularExpression, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QSyntaxHighlighter, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget


NOT_TEXT = "This file is not text (it contains NUL bytes): its contents are not shown."

class YamlHighlighter(QSyntaxHighlighter):
    RULES = [
        (r"^\s*-?\s*[A-Za-z0-9_.\-]+(?=\s*:)", "#0b5394", True),
        (r"\{\{.*?\}\}", "#9c2f6b", False),
        (r"#.*$", "#7b8794", False),
        (r"\"[^\"]*\"|'[^']*'", "#2f7d32", False),
        (r"\b(true|false|null|yes|no)\b", "#b35900", False),
    ]

    def __init__(self, document):
        super().__init__(document)
        self._rules = []
        for pattern, colour, bold in self.RULES:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if bold:
                fmt.setFontWeight(QFont.Weight.DemiBold)
            self._rules.append((QRegularExpression(pattern), fmt))

    def highlightBlock(self, text: str) -> None:
        for expression, fmt in self._rules:
            matches = expression.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class _LineNumbers(QWidget):
    def __init__(self, editor: "SourceView"):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:
        self.editor.paint_gutter(event)


class SourceView(QPlainTextEdit):
    """A manifest, read-only, with line numbers, YAML colours and the problem line marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("source-view")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.setFont(font)
        self._gutter = _LineNumbers(self)
        self._highlighter = YamlHighlighter(self.document())
        self.blockCountChanged.connect(lambda _: self.setViewportMargins(self.gutter_width(), 0, 0, 0))
        self.updateRequest.connect(self._scroll_gutter)
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def gutter_width(self) -> int:
        return 16 + self.fontMetrics().horizontalAdvance("9") * len(str(max(1, self.blockCount())))

    def _scroll_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        area = self.contentsRect()
        self._gutter.setGeometry(QRect(area.left(), area.top(), self.gutter_width(), area.height()))

    def paint_gutter(self, event) -> None:
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), QColor("#eef2f6"))
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = round(self.blockBoundingRect(block).height())
        painter.setPen(QColor("#829ab1"))
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible():
                painter.drawText(0, top, self._gutter.width() - 6, height, Qt.AlignmentFlag.AlignRight,
                                 str(block.blockNumber() + 1))
            block = block.next()
            top += height

    def bind(self, session) -> None:
        """Show the session's pack text (a newly opened pack replaces the old one) and reveal locations."""
        session.pack_changed.connect(lambda pack: self.show_text(pack.text) if pack.text != self.toPlainText()
                                     or not pack.text else None)
        session.source_requested.connect(self.show_text)

    def show_text(self, text: str, line: int = 0, column: int = 0) -> None:
        binary = "\x00" in text  # refused as not text (Problems): its bytes drawn as glyphs were noise, and
        self.setPlaceholderText(NOT_TEXT if binary else "")  # Qt warned on stderr about each script met
        if binary:
            text, line = "", 0
        if text != self.toPlainText():
            # coloured now if on screen, else when shown (a tab behind Details: a 10k-step pack's
            # 6,000 lines took 60 ms of the open to colour, for nobody)
            self._colour(self.isVisible() and not self.visibleRegion().isEmpty())
            self.setPlainText(text)
            self.setExtraSelections([])
        self.go_to(line, column)

    def reveal(self) -> None:
        """The view comes on screen (its dock's tab was chosen): colour the text it shows."""
        self._colour(True)

    def _colour(self, on: bool) -> None:
        document = self.document() if on else None
        if self._highlighter.document() is not document:
            self._highlighter.setDocument(document)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.visibleRegion().isEmpty():
            self.reveal()

    def go_to(self, line: int, column: int = 0) -> None:
        if line <= 0:
            return
        block = self.document().findBlockByNumber(line - 1)
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.Right, n=max(0, column - 1))
        self.setTextCursor(cursor)
        self.centerCursor()
        if column < 60:
            self.horizontalScrollBar().setValue(0)
        mark = QTextEdit.ExtraSelection()
        mark.format.setBackground(QColor("#ffe3e3"))
        mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        mark.cursor = QTextCursor(block)
        self.setExtraSelections([mark])

    def current_line(self) -> int:
        return self.textCursor().blockNumber() + 1
