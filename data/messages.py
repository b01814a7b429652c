"""The drop folder's messages, in English and Chinese, by message id.

A problem found in a dropped file is kept as a message id and its parameters
(``data.intake.fields.IntakeError``; ``intake_errors.msg`` and ``.params`` in the store),
and rendered in the reader's language where it is shown: the Updates page in the interface
language, the ``.errors.txt`` report in both (the folder has no language setting). The
English text is also stored whole (``intake_errors.message``), so stores written before
message ids existed still show their messages (in English).

A parameter is a plain value, or ``{"en": ..., "zh": ...}`` when it is itself words (a
qualifier's name, "the indicator"). The Chinese uses the interface's terms
(``locales/zh/LC_MESSAGES/messages.po``: 指标, 范围, 期间, 数值, 来源, 引文, 工作表, 收件箱),
full-width punctuation, and keeps column names, ids and Excel's English menu names in
Latin letters where the person types or sees them so. ``tests/test_messages.py`` fails
while an id lacks its Chinese text, or a text its parameters.
"""
from __future__ import annotations

import json

from data.plaintext import HIDDEN, visible

LANGUAGES = ("en", "zh")

_SAVE_XLSX_EN = "File > Save As > 'Excel Workbook (*.xlsx)'"
_SAVE_XLSX_ZH = "“文件 > 另存为 > Excel 工作簿 (*.xlsx)”"
_PERIOD_HINT_EN = ("Write 2023 for a year, 2023-05 for a month, 2023-06-30 for a day, 2023-01/2023-08 for "
                   "January to August, or 2022/23 for a fiscal year, and format the cell as text.")
_PERIOD_HINT_ZH = ("年份写 2023，月份写 2023-05，日期写 2023-06-30，1月至8月写 2023-01/2023-08，"
                   "财政年度写 2022/23，并将单元格设为文本格式。")
_NUMBER_ADVICE_EN = ("Type the number alone, with a point for decimals and no thousands separators "
                     "or units: 25.6 or 1067.")
_NUMBER_ADVICE_ZH = "请只键入数字，用小数点表示小数，不加千位分隔符或单位：25.6 或 1067。"

# id: (English, Chinese)
MESSAGES: dict[str, tuple[str, str]] = {
    # -- the workbook and its sheets
    "hidden-sheet": (
        "The sheet '{sheet}' is hidden. Hidden sheets are not read, so what is on it would be lost: unhide "
        "it (right-click a sheet tab > Unhide) and move its rows to the Observations sheet, or delete it.",
        "工作表“{sheet}”是隐藏的。隐藏的工作表不会被读取，其中的内容会丢失：请取消隐藏（右键单击工作表标签 > "
        "取消隐藏），并把其中的行移到 Observations 工作表，或删除该工作表。"),
    "unknown-sheet": (
        "The sheet '{sheet}' is not one the drop folder reads (Observations, New sources, New indicators, "
        "New areas). Move its rows to the right sheet, or delete it.",
        "投放文件夹不读取工作表“{sheet}”（只读取 Observations、New sources、New indicators、New areas）。"
        "请把其中的行移到相应的工作表，或删除该工作表。"),
    "missing-sheet": (
        "The workbook has no sheet named Observations. Use the template, or name the sheet that holds the "
        "values Observations.",
        "工作簿中没有名为 Observations 的工作表。请使用模板，或将存放数值的工作表命名为 Observations。"),
    "blank-sheet": ("This sheet is empty: there is nothing to add.", "此工作表是空的：没有可添加的内容。"),
    "too-many-rows": (
        "The file has more than {max_rows:,} rows, the most one file may hold. Split it into several files.",
        "文件超过 {max_rows:,} 行，即一个文件最多可容纳的行数。请将其拆分为几个文件。"),
    "merged-header": (
        "Cells {range} are merged in the header row. Unmerge them (Home > Merge & Center) and give each "
        "column its own name from the template.",
        "标题行中的单元格 {range} 已合并。请取消合并（开始 > 合并后居中），并按模板为每列分别命名。"),
    "merged-cell": (
        "Cells {range} are merged. Unmerge them (Home > Merge & Center) and type the value in every row it "
        "applies to.",
        "单元格 {range} 已合并。请取消合并（开始 > 合并后居中），并在适用的每一行中键入该值。"),
    # -- the header row
    "header-position": (
        "The column names are on row {row}; they must be on row 1. Delete {above} (select the rows, "
        "right-click > Delete).",
        "列名在第 {row} 行；列名必须在第 1 行。请删除{above}（选中这些行，右键单击 > 删除）。"),
    "duplicate-label": ("Two columns are named '{label}'. Keep one of them.",
                        "有两列都名为“{label}”。请只保留其中一列。"),
    "incorrect-label-close": (
        "The column name '{label}' is not one the drop folder reads. Did you mean '{close}'? Rename the "
        "column to exactly that.",
        "投放文件夹不读取列名“{label}”。您是否指“{close}”？请将该列重命名为与之完全一致。"),
    "incorrect-label": (
        "The column name '{label}' is not one the drop folder reads. Rename it to one of the template's "
        "names, or delete the column.",
        "投放文件夹不读取列名“{label}”。请将其重命名为模板中的某个列名，或删除该列。"),
    "missing-label": (
        "The required column '{field}' is missing from row 1. {help}",
        "第 1 行缺少必填列“{field}”。{help}"),
    "blank-label": (
        "This column has no name in row 1. Give it a name from the template, or delete the column.",
        "此列在第 1 行没有列名。请按模板为其命名，或删除该列。"),
    "extra-cell": (
        "This cell is beyond the last named column. Delete it, or give its column a name from the template.",
        "此单元格位于最后一个有名称的列之外。请删除它，或按模板为其所在列命名。"),
    # -- what a cell holds
    "formula-cell": (
        "This cell holds a formula ({formula}). Only typed values are read: copy the column and paste it "
        "back with Paste Special > Values.",
        "此单元格包含公式（{formula}）。只读取键入的值：请复制该列，再用“选择性粘贴 > 值”粘贴回去。"),
    "excel-error": ("This cell shows the Excel error {error}. Type the value itself.",
                    "此单元格显示 Excel 错误 {error}。请键入值本身。"),
    "markup-in-text": (  # as stores written before "markup-found" keep it
        "This text contains HTML or script (<...>). Cells are plain text: remove the tags.",
        "此文本包含 HTML 或脚本（<...>）。单元格只能是纯文本：请删除这些标记。"),
    "markup-found": (
        "This text contains HTML or script ({found}). Cells are plain text: remove it. (A '<' followed by a "
        "space or a digit, as in 'a < b' or '<5%', is fine.)",
        "此文本包含 HTML 或脚本（{found}）。单元格只能是纯文本：请将其删除。（“<”后面是空格或数字时没有问题，"
        "如“a < b”或“<5%”。）"),
    "char-ref": (
        "This text contains the HTML code {found}. Cells are plain text: type the character it stands for "
        "({char}) instead.",
        "此文本包含 HTML 代码 {found}。单元格只能是纯文本：请改为键入它所代表的字符（{char}）。"),
    "hidden-character": (
        "This text contains an invisible character, {char}, {where}. Invisible characters can make a "
        "citation or a quote display differently from what it says (a right-to-left override turns "
        "'para 421' into 'para 412' on screen). Delete it: retype the text around it, or paste the text "
        "as plain text (Paste Special > Values).",
        "此文本{where}有一个不可见字符 {char}。不可见字符会使引用或引文的显示与实际内容不同（例如从右到左"
        "覆盖字符会使屏幕上的“para 421”显示为“para 412”）。请将其删除：重新键入其前后的文字，或以纯文本"
        "粘贴（选择性粘贴 > 值）。"),
    "missing-cell": ("This cell is empty, and {field} is required. {help}",
                     "此单元格为空，而 {field} 是必填项。{help}"),
    "bad-id": ("'{id}' is not a usable id. {help}",
               "“{id}”不是可用的 id。{help}"),
    "bad-url": ("A link must start with https:// (or http://). Leave it empty if there is none.",
                "链接必须以 https://（或 http://）开头。没有链接则留空。"),
    "bad-area-kind": ("'{kind}' is not a kind of area. Use one of: {kinds}.",
                      "“{kind}”不是范围的类型。请使用以下之一：{kinds}。"),
    "not-in-list": ("'{text}' is not in the list. Use one of: {terms}.",
                    "“{text}”不在列表中。请使用以下之一：{terms}。"),
    "bad-chart": ("Use line or bar.", "请填写 line（折线图）或 bar（柱状图）。"),
    "declared-twice": ("'{id}' is declared twice on this sheet (first on row {first_row}). Keep one row.",
                       "“{id}”在此工作表中声明了两次（第一次在第 {first_row} 行）。请只保留一行。"),
    "declared-differently": (
        "'{id}' already exists with a different {column} ('{old}'). Use it without declaring it again, or "
        "choose a new id.",
        "“{id}”已存在，但其 {column} 不同（“{old}”）。请直接使用它而不要再次声明，或另选一个新 id。"),
    "unknown-id": (
        "'{text}' is not a known {what}. Use an id on the Lists sheet, or declare it on the {sheet} sheet.",
        "“{text}”不是已知的{what}。请使用 Lists 工作表中的 id，或在 {sheet} 工作表中声明它。"),
    "unknown-id-named": (
        "'{text}' is not a known {what}. Its id is {id}: write that. Use an id on the Lists sheet, or "
        "declare it on the {sheet} sheet.",
        "“{text}”不是已知的{what}。它的 id 是 {id}：请填写这个 id。请使用 Lists 工作表中的 id，"
        "或在 {sheet} 工作表中声明它。"),
    "unknown-id-close": (
        "'{text}' is not a known {what}. Did you mean {close}? Use an id on the Lists sheet, or declare it "
        "on the {sheet} sheet.",
        "“{text}”不是已知的{what}。您是否指 {close}？请使用 Lists 工作表中的 id，或在 {sheet} 工作表中声明它。"),
    "not-a-unit": ("'{text}' is not a unit in the list. Use one of: {units}.",
                   "“{text}”不是列表中的单位。请使用以下之一：{units}。"),
    "unit-mismatch": (
        "The indicator {indicator} is measured in {expected}, but this row says {unit}. Check the indicator "
        "and the value, or declare a new indicator for values in {unit}.",
        "指标 {indicator} 的单位是 {expected}，但此行写的是 {unit}。请核对指标和数值，或为以 {unit} "
        "计量的数值声明一个新指标。"),
    "not-in-vocabulary": ("'{text}' is not a {what} in the list. Use one of: {terms}.",
                          "“{text}”不是列表中的{what}。请使用以下之一：{terms}。"),
    "revision-yes-no": ("Write yes when this value corrects a published one; otherwise leave it empty.",
                        "如果此数值更正已发布的数值，请填写 yes；否则留空。"),
    "date-unreadable": ("This is not a date that can be read. Write 2024-03-05, 2024-03 or 2024.",
                        "这不是可以读取的日期。请写成 2024-03-05、2024-03 或 2024。"),
    # -- periods and values
    "period-serial": (
        "{text} is an Excel date stored as a plain number (it means {day}). Type the period as text "
        "instead, such as {month} for the month. " + _PERIOD_HINT_EN,
        "{text} 是以普通数字存储的 Excel 日期（表示 {day}）。请改为以文本键入期间，例如月份写 {month}。"
        + _PERIOD_HINT_ZH),
    "period-unreadable": ("'{text}' is not a period that can be read. " + _PERIOD_HINT_EN,
                          "“{text}”不是可以读取的期间。" + _PERIOD_HINT_ZH),
    "not-a-period": ("This is not a period. " + _PERIOD_HINT_EN, "这不是期间。" + _PERIOD_HINT_ZH),
    "percent-cell-wrong-unit": (
        "This cell is formatted as a percentage, but {indicator} is measured in {unit}. Format the cell as "
        "a number (Home > Number format > General) and type the value itself.",
        "此单元格设为百分比格式，但{indicator}的单位是 {unit}。请将单元格设为数字格式（开始 > 数字格式 > "
        "常规），并键入数值本身。"),
    "value-not-number": ("'{text}' is text, not a number. " + _NUMBER_ADVICE_EN,
                         "“{text}”是文本，不是数字。" + _NUMBER_ADVICE_ZH),
    "value-not-number-percent": (
        "'{text}' is text, not a number. " + _NUMBER_ADVICE_EN + " The unit column already says it is a "
        "percentage.",
        "“{text}”是文本，不是数字。" + _NUMBER_ADVICE_ZH + "unit 列已经说明这是百分比。"),
    "value-not-a-number": ("This is not a number. Type the number alone: 25.6 or 1067.",
                           "这不是数字。请只键入数字：25.6 或 1067。"),
    "value-not-finite": ("This is not a finite number.", "这不是有限的数字。"),
    "value-too-large": (
        "{text} is too large: a value must be smaller than 1,000,000,000,000,000 (10^15), plus or minus. "
        "No indicator counts anything near that, so check the number (an id, a phone number or a serial "
        "number typed in the value column?).",
        "{text} 太大：数值的绝对值必须小于 1,000,000,000,000,000（10^15）。没有任何指标的数值接近这个量级，"
        "请检查该数字（是否把编号、电话号码或序列号键入了数值列？）。"),
    "percent-scale": (
        "{text} looks like a fraction, but {indicator} is measured in percent. Type {percent} for {percent} %, "
        "or format the cell as a percentage (Home > %). If the value really is below one percent, type it "
        "with a % sign: {text}%.",
        "{text} 看起来是小数比例，但{indicator}以百分比计量。请键入 {percent} 表示 {percent}%，或将单元格设为"
        "百分比格式（开始 > %）。如果数值确实低于百分之一，请加上 % 号键入：{text}%。"),
    # -- the citation
    "quote-line-break": ("The quote has a line break. Copy the sentence from the report as one line.",
                         "引文中有换行。请将报告中的句子复制为一行。"),
    "quote-not-found": (
        "This quote is not word for word in the text of {report}. Copy it from the report again, exactly.",
        "此引文与 {report} 的原文不一致。请从报告中重新准确复制。"),
    "value-not-in-quote": ("These characters are not in the quote. Copy them from the quote exactly.",
                           "引文中没有这些字符。请从引文中准确复制。"),
    "value-mismatch": ("This text states {stated}, but the value is {value}. Correct one of them.",
                       "此文本表示 {stated}，但数值是 {value}。请更正其中之一。"),
    "value-text-unreadable": (
        "This text states no number that can be read, but the value is {value}. Correct one of them.",
        "此文本中没有可以读取的数字，但数值是 {value}。请更正其中之一。"),
    "derived-mismatch": (
        "This column repeats what the dashboard already holds ('{expected}'); it cannot change it. Delete "
        "the column, or put back the exported text.",
        "此列重复仪表板中已有的内容（“{expected}”），不能用来修改它。请删除该列，或恢复导出时的文本。"),
    # -- against the other rows and the store
    "duplicate-row-same": (
        "This row repeats the indicator, area and period of row {first_row} ({indicator}, {area}, {period}). "
        "Keep one of the two rows.",
        "此行重复了第 {first_row} 行的指标、范围和期间（{indicator}，{area}，{period}）。请只保留其中一行。"),
    "duplicate-row-different": (
        "This row gives a different value for the indicator, area and period of row {first_row} "
        "({indicator}, {area}, {period}). Keep one of the two rows.",
        "此行为第 {first_row} 行的指标、范围和期间（{indicator}，{area}，{period}）给出了不同的数值。"
        "请只保留其中一行。"),
    "revision-nothing-published": (
        "This row is marked as a revision, but no value is published for this indicator, area and period. "
        "Check the period, or empty the revision cell.",
        "此行标为修订，但此指标、范围和期间尚无已发布的数值。请核对期间，或清空 revision 单元格。"),
    "conflict": (
        "{indicator} for {area}, {period} is already published as {old} ({old_source}, {old_locator}: "
        "\u201c{old_quote}\u201d). This row says {new} ({new_source}, {new_locator}: \u201c{new_quote}\u201d). "
        "If this corrects the published value, write yes in the revision column; otherwise correct the value.",
        "{indicator}（{area}，{period}）已发布的数值为 {old}（{old_source}，{old_locator}：“{old_quote}”）。"
        "此行给出的是 {new}（{new_source}，{new_locator}：“{new_quote}”）。如果此行更正已发布的数值，"
        "请在 revision 列填写 yes；否则请更正数值。"),
    # -- the file as a whole (data.sheets)
    "empty-file": ("The file is empty (0 bytes). Save the spreadsheet again and put the saved file in the inbox.",
                   "文件是空的（0 字节）。请重新保存电子表格，再将保存好的文件放入收件箱。"),
    "xls-file": (
        "This is an old-format Excel file (.xls). Open it in Excel and use " + _SAVE_XLSX_EN
        + ", then put the .xlsx file in the inbox.",
        "这是旧格式的 Excel 文件（.xls）。请在 Excel 中打开，使用" + _SAVE_XLSX_ZH + "，然后将 .xlsx 文件放入收件箱。"),
    "macro-file-type": (
        "This Excel file type ({suffix}) can hold macros, which are never opened here. Use " + _SAVE_XLSX_EN
        + ", then put the .xlsx file in the inbox.",
        "这种 Excel 文件类型（{suffix}）可能包含宏，此处从不打开宏。请使用" + _SAVE_XLSX_ZH
        + "，然后将 .xlsx 文件放入收件箱。"),
    "unsupported-type": (
        "Files of this type ({suffix}) are not read. Use the template (.xlsx) or a CSV file saved as "
        "'CSV UTF-8 (Comma delimited)'.",
        "不读取这种类型的文件（{suffix}）。请使用模板（.xlsx），或另存为“CSV UTF-8（逗号分隔）”的 CSV 文件。"),
    "file-too-large": (
        "The file is {size}, more than the limit of {limit}. Split it into several smaller files.",
        "文件大小为 {size}，超过了 {limit} 的上限。请将其拆分为几个较小的文件。"),
    "csv-not-text": (
        "This is not a text file, though its name ends in .csv (it may be another kind of file renamed). "
        "Save the spreadsheet as 'CSV UTF-8 (Comma delimited)'.",
        "文件名以 .csv 结尾，但这不是文本文件（可能是改了名的其他类型文件）。请将电子表格另存为"
        "“CSV UTF-8（逗号分隔）”。"),
    "csv-encoding": (
        "Line {line} is not UTF-8 text, so Chinese characters would be garbled. In Excel use File > Save As "
        "> 'CSV UTF-8 (Comma delimited)'.",
        "第 {line} 行不是 UTF-8 文本，中文会变成乱码。请在 Excel 中使用“文件 > 另存为 > CSV UTF-8（逗号分隔）”。"),
    "csv-encoding-named": (
        "This file is saved in {encoding}, not UTF-8, so Chinese characters would be garbled. In Excel use "
        "File > Save As > 'CSV UTF-8 (Comma delimited)' and put that file in the inbox.",
        "此文件的编码是 {encoding}，不是 UTF-8，中文会变成乱码。请在 Excel 中使用“文件 > 另存为 > "
        "CSV UTF-8（逗号分隔）”，再将该文件放入收件箱。"),
    "xls-renamed": (
        "This is an old-format Excel file (.xls) renamed to .xlsx, or a workbook protected with a password. "
        "Open it in Excel, remove any password, and use " + _SAVE_XLSX_EN + ".",
        "这是改名为 .xlsx 的旧格式 Excel 文件（.xls），或是受密码保护的工作簿。请在 Excel 中打开，删除密码，"
        "然后使用" + _SAVE_XLSX_ZH + "。"),
    "damaged-file": (
        "The file is damaged or was not completely saved, or it is another kind of file renamed to .xlsx. "
        "Open it in Excel, save it again, and put it in the inbox.",
        "文件已损坏或未完整保存，或是改名为 .xlsx 的其他类型文件。请在 Excel 中打开，重新保存，再放入收件箱。"),
    "not-a-workbook": (
        "This is not an Excel workbook (it may be another kind of file renamed to .xlsx). Use the template.",
        "这不是 Excel 工作簿（可能是改名为 .xlsx 的其他类型文件）。请使用模板。"),
    "macros-inside": ("This workbook contains macros, which are never opened here. Use " + _SAVE_XLSX_EN + ".",
                      "此工作簿包含宏，此处从不打开宏。请使用" + _SAVE_XLSX_ZH + "。"),
    "expands-too-much": (
        "The workbook would expand to {size} when opened, more than the limit of {limit}. Split it into "
        "several smaller files.",
        "此工作簿打开后会展开为 {size}，超过了 {limit} 的上限。请将其拆分为几个较小的文件。"),
    "cell-too-far": (
        "{file}: the sheet '{sheet}' has a cell at {cell}, beyond what a sheet may reach (row {max_row:,}, "
        "column {max_column}: {max_rows:,} rows under the header, {max_columns} columns; PKPI_MAX_ROWS and "
        "PKPI_MAX_COLUMNS). Nothing was read. In Excel, go to {cell} (Ctrl+G), delete the rows or columns out "
        "there (select them, right-click > Delete, even if they look empty), save, and put the file in the inbox "
        "again.",
        "{file}：工作表“{sheet}”在 {cell} 处有单元格，超出了工作表可达的范围（第 {max_row:,} 行、"
        "{max_column} 列，即标题下 {max_rows:,} 行、{max_columns} 列；PKPI_MAX_ROWS 和 PKPI_MAX_COLUMNS）。"
        "文件未被读取。请在 Excel 中定位到 {cell}（Ctrl+G），删除那里的行或列（选中后右键单击 > 删除，"
        "即使看起来是空的），保存后再放入收件箱。"),
    "reader-out-of-memory": (
        "{file} needed more than {limit} of memory to read, the most one file may use (PKPI_READER_MEMORY_MB), "
        "so it was not read to the end and nothing from it was added. Split it into several smaller files, "
        "or ask the administrator to raise the limit and put the file in the inbox again.",
        "读取 {file} 所需的内存超过 {limit}，即一个文件最多可使用的内存（PKPI_READER_MEMORY_MB），"
        "因此未能读完，其中的内容均未添加。请将其拆分为几个较小的文件，或请管理员提高上限后再放入收件箱。"),
    "reader-out-of-time": (
        "{file} took more than {limit} seconds to read, the most one file may take (PKPI_READER_SECONDS), so "
        "it was stopped and nothing from it was added. Split it into several smaller files, or ask the "
        "administrator to raise the limit and put the file in the inbox again.",
        "读取 {file} 的时间超过 {limit} 秒，即一个文件最多可用的时间（PKPI_READER_SECONDS），"
        "因此已被停止，其中的内容均未添加。请将其拆分为几个较小的文件，或请管理员提高上限后再放入收件箱。"),
    "reader-crashed": (
        "Reading {file} stopped the program that read it ({how}), so nothing from it was added and it is not "
        "read again. The file may be damaged or made to harm the server: open it in Excel, save it again as a "
        "new workbook, and put that in the inbox.",
        "读取 {file} 时，读取它的程序中止了（{how}），因此其中的内容均未添加，也不会再次读取。"
        "文件可能已损坏，或是为破坏服务器而制作的：请在 Excel 中打开，另存为新的工作簿，再放入收件箱。"),
    "excel-unreadable": (
        "Excel's file could not be read ({error}): it may be damaged. Open it in Excel, save it again, and "
        "put it in the inbox.",
        "无法读取此 Excel 文件（{error}），文件可能已损坏。请在 Excel 中打开，重新保存，再放入收件箱。"),
    "read-to-the-end": (
        "The file could not be read to the end ({error}): it may be damaged or incompletely saved. Open it "
        "in Excel, save it again, and put it in the inbox.",
        "无法把文件读完（{error}）：文件可能已损坏或未完整保存。请在 Excel 中打开，重新保存，再放入收件箱。"),
    # -- what is in the inbox but is never read (data.dropbox.refusal)
    "inbox-link": (
        "This is a link (shortcut) to another file or folder, not a file. Links are never followed: what they "
        "point to could be any file on the server. Remove the link and save the spreadsheet itself into the "
        "inbox.",
        "这是指向其他文件或文件夹的链接（快捷方式），不是文件。链接从不被跟随：它可能指向服务器上的任何文件。"
        "请删除该链接，并把电子表格本身保存到收件箱。"),
    "inbox-folder": (
        "This is a folder, not a file: folders in the inbox are not read, even when their name ends in .xlsx "
        "or .csv. Move the spreadsheets out of it into the inbox itself, then remove the folder.",
        "这是文件夹，不是文件：收件箱中的文件夹不会被读取，即使其名称以 .xlsx 或 .csv 结尾。请把其中的电子表格"
        "移到收件箱本身，然后删除该文件夹。"),
    "inbox-special": (
        "This is not an ordinary file (it is {kind}), so it is never opened. Remove it and save the "
        "spreadsheet itself into the inbox.",
        "这不是普通文件（而是{kind}），因此从不打开。请删除它，并把电子表格本身保存到收件箱。"),
    "inbox-open-for-writing": (
        "Still being written: the program {program} (process {pid}) has it open for writing. It is read once "
        "that program closes it.",
        "仍在写入：程序 {program}（进程 {pid}）正以写入方式打开此文件。该程序关闭文件后即会读取。"),
    "inbox-settling": (
        "It changed {ago} s ago; it is read once it has not changed for {settle} s (PKPI_SETTLE_SECONDS).",
        "此文件在 {ago} 秒前有改动；在 {settle} 秒内没有改动后才会读取（PKPI_SETTLE_SECONDS）。"),
    "inbox-changed-after-reading": (
        "It changed after it was read, so it stays in the inbox and is read again, whole, once it stops "
        "changing. What was read is kept as it was.",
        "此文件在读取之后又有改动，因此留在收件箱中，待其不再改动后会被完整地重新读取。已读取的内容按原样保留。"),
    # -- what was not checked (an accepted file's summary)
    "quotes-not-checked": (
        "The quotes citing {reports} were not re-checked word for word: the report texts are not at {seeds} "
        "(PKPI_SEEDS). Every other check was made.",
        "引用 {reports} 的引文未逐字复核：在 {seeds}（PKPI_SEEDS）找不到报告原文。其他各项检查均已完成。"),
    # -- a file's one-line summary (intake_files.summary; the Updates page)
    "summary-rejected": ("Not loaded: {count} problems found, so nothing from this file was added.",
                         "未载入：发现 {count} 个问题，因此此文件的内容均未添加。"),
    "summary-rejected-one": ("Not loaded: 1 problem found, so nothing from this file was added.",
                             "未载入：发现 1 个问题，因此此文件的内容均未添加。"),
    # -- the .errors.txt report around the list
    "report-not-loaded": ("{name} was not loaded: nothing from it was added to the dashboard.",
                          "{name} 未载入：其中的内容均未添加到仪表板。"),
    "report-found": (
        "{count:,} problems were found. Correct them in your copy of the file, then save it into the inbox "
        "folder again.",
        "发现 {count:,} 个问题。请在您的文件副本中更正，然后重新保存到收件箱文件夹。"),
    "report-found-one": (
        "1 problem was found. Correct it in your copy of the file, then save it into the inbox folder again.",
        "发现 1 个问题。请在您的文件副本中更正，然后重新保存到收件箱文件夹。"),
    "report-more": ("... and {count:,} more: every problem is listed in {csv} (opens in Excel).",
                    "……另有 {count:,} 个问题：所有问题都列在 {csv} 中（可用 Excel 打开）。"),
    "report-same-list": ("The same list, one problem a row, is in {csv} (opens in Excel).",
                         "同样的清单（每行一个问题）见 {csv}（可用 Excel 打开）。"),
}

# Words used inside other messages (a parameter's value in each language).
WORDS: dict[str, tuple[str, str]] = {
    "a named pipe": ("a named pipe", "命名管道"),
    "a socket": ("a socket", "套接字"),
    "a device": ("a device", "设备文件"),
    "an unknown kind of entry": ("an unknown kind of entry", "未知类型的条目"),

    "the indicator": ("the indicator", "该指标"),
    "indicator": ("indicator", "指标"),
    "area": ("area", "范围"),
    "source": ("source", "来源"),
    "qualifier": ("qualifier", "限定词"),
    "status": ("status", "状态"),
    "no extension": ("no extension", "无扩展名"),
}


def shown_name(name: str) -> str:
    """A file name as logs, reports and pages show it: control characters (a line break
    could forge a log line) and every character the cell rule calls invisible
    (``data.plaintext.HIDDEN``: direction marks reorder what follows) are written as
    escapes, ``\\n`` or ``\\u202e``; a backslash is doubled so that an escape cannot be
    faked either."""
    out = []
    for ch in name:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or HIDDEN.match(ch):  # line breaks too, and what the cell rule refuses
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or
                       (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                        else f"\\U{code:08x}"))
        else:
            out.append(ch)
    return "".join(out)



def word(key: str) -> dict:
    """A parameter that is itself words, in both languages."""
    en, zh = WORDS[key]
    return {"en": en, "zh": zh}


def both(en: str, zh: str) -> dict:
    return {"en": en, "zh": zh}


def listed(items) -> dict:
    """A list of ids or terms: "a, b, c" in English, "a、b、c" in Chinese."""
    items = list(items)
    return both(", ".join(items), "、".join(items))


def _resolve(value, lang: str):
    if isinstance(value, dict) and "en" in value:
        value = value.get(lang) or value["en"]
    # A parameter may quote the file (a column's name, a sheet's, a cell's text): an
    # invisible character in it is written as its code, so no message displays reversed.
    return visible(value) if isinstance(value, str) else value


def render(msg: str, params: dict | None, lang: str = "en") -> str:
    """The message ``msg`` with its parameters, in ``lang`` (English for any other)."""
    texts = MESSAGES[msg]
    template = texts[1] if lang == "zh" else texts[0]
    return template.format(**{k: _resolve(v, lang) for k, v in (params or {}).items()})


def where(sheet: str, row, column: str, cell: str, lang: str = "en") -> str:
    """Where a problem is, as a person finds it in Excel ("" for the file as a whole)."""
    sheet, column = visible(sheet or ""), visible(column or "")
    if lang == "zh":
        parts = [f"工作表 {sheet}"] if sheet else []
        if row:
            parts.append(f"第 {row} 行")
        if column:
            parts.append(f"{column} 列" + (f"（{cell}）" if cell else ""))
        return "，".join(parts)
    parts = [f"sheet {sheet}"] if sheet else []
    if row:
        parts.append(f"row {row}")
    if column:
        parts.append(f"column {column}" + (f" ({cell})" if cell else ""))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def error_text(error, lang: str = "en") -> str:
    """What to do about one stored problem, in ``lang``: ``error`` is anything with ``message``
    and, when it was stored with one, ``msg`` and ``params`` (an IntakeError, a row of
    ``intake_errors`` as a named tuple or mapping). A problem stored before message ids
    existed, or with an id this version does not know, keeps its English text."""
    get = _getter(error)
    msg, params = get("msg", None), get("params", None)
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = None
    if isinstance(msg, str) and msg in MESSAGES and isinstance(params, dict):
        try:
            return render(msg, params, lang)
        except (KeyError, IndexError, ValueError):
            pass
    return str(get("message", "") or "")


def rejected_summary(count: int) -> tuple[str, dict]:
    return ("summary-rejected-one", {}) if count == 1 else ("summary-rejected", {"count": count})


def summary_text(file, lang: str = "en") -> str:
    """A processed file's one-line summary in ``lang``: a rejected file's is said again from
    its count of problems; any other keeps the English stored with it."""
    get = _getter(file)
    if lang != "en" and get("status") == "rejected" and get("error_count") is not None:
        return render(*rejected_summary(int(get("error_count"))), lang)
    return str(get("summary", "") or "")


def _getter(record):
    """Reads a field of a mapping, a pandas row or an object alike."""
    if hasattr(record, "get"):
        return record.get
    return lambda name, default=None: getattr(record, name, default)


def dumps(params: dict | None) -> str:
    return json.dumps(params or {}, ensure_ascii=False, default=str)
