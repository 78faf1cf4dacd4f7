"""QGIS styles (QML): named, coloured classes (from the bundle's classes) and the confidence
ramp, so outputs look right in QGIS on open."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from geoseg.classes import ClassInfo

QGIS_VERSION = "3.28.0"


def _root() -> ET.Element:
    return ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")


def _text(root: ET.Element) -> str:
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def raster_qml(classes: Sequence[ClassInfo]) -> str:
    """Paletted renderer: one labelled colour per class value; nodata stays transparent."""
    root = _root()
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(
        pipe, "rasterrenderer", type="paletted", band="1", opacity="1", alphaBand="-1"
    )
    ET.SubElement(renderer, "rasterTransparency")
    palette = ET.SubElement(renderer, "colorPalette")
    for c in classes:
        ET.SubElement(
            palette, "paletteEntry", value=str(c.id), color=c.color, alpha="255", label=c.name
        )
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    return _text(root)


#: the confidence ramp: ColorBrewer RdYlGn, unsure (0 %) red through yellow to sure (100 %) green
CONFIDENCE_RAMP = "RdYlGn"
CONFIDENCE_STOPS = (
    (0, "#d7191c"),
    (25, "#fdae61"),
    (50, "#ffffbf"),
    (75, "#a6d96a"),
    (100, "#1a9641"),
)


def _attrs(text: str) -> dict[str, str]:
    """XML attributes written as QGIS shows them: ``"a=1 b=2"``."""
    return dict(pair.split("=", 1) for pair in text.split())


def _rgb(color: str) -> str:
    return ",".join(str(int(color[i : i + 2], 16)) for i in (1, 3, 5)) + ",255"


def confidence_qml() -> str:
    """Singleband pseudocolor renderer, a continuous ramp fixed to 0-100 %: the same colours
    mean the same confidence in every scene (QGIS would otherwise stretch to each one's range)."""
    root = _root()
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        _attrs(
            "type=singlebandpseudocolor band=1 opacity=1 alphaBand=-1 "
            "classificationMin=0 classificationMax=100"
        ),
    )
    ET.SubElement(renderer, "rasterTransparency")
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader")
    shader.attrib.update(
        _attrs(
            "colorRampType=INTERPOLATED classificationMode=1 clip=0 "
            "minimumValue=0 maximumValue=100 labelPrecision=0"
        )
    )
    shader.append(ET.Comment(f" colour ramp: {CONFIDENCE_RAMP}, 0-100 % "))
    ramp = ET.SubElement(shader, "colorramp", type="gradient", name="[source]")
    props = ET.SubElement(ramp, "Option", type="Map")
    (_, first), *middle, (_, last) = CONFIDENCE_STOPS
    _option(props, "color1", _rgb(first))
    _option(props, "color2", _rgb(last))
    _option(props, "stops", ":".join(f"{v / 100:g};{_rgb(c)}" for v, c in middle))
    _option(props, "discrete", "0")
    _option(props, "rampType", "gradient")
    for value, color in CONFIDENCE_STOPS:
        ET.SubElement(
            shader, "item", alpha="255", value=str(value), label=f"{value} %", color=color
        )
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    return _text(root)


def _option(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "Option", name=name, type="QString", value=value)


def vector_qml(classes: Sequence[ClassInfo], field: str = "class_id") -> str:
    """Categorised fill renderer on ``field`` with the class colours and names."""
    root = _root()
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr=field,
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, c in enumerate(classes):
        ET.SubElement(
            categories, "category", value=str(c.id), symbol=str(i), label=c.name, render="true"
        )
        symbol = ET.SubElement(
            symbols,
            "symbol",
            type="fill",
            name=str(i),
            alpha="1",
            clip_to_extent="1",
            force_rhr="0",
        )
        layer = ET.SubElement(symbol, "layer", {"class": "SimpleFill", "enabled": "1", "pass": "0"})
        options = ET.SubElement(layer, "Option", type="Map")
        r, g, b = c.rgb
        _option(options, "color", f"{r},{g},{b},255")
        _option(options, "style", "solid")
        _option(options, "outline_color", f"{r // 2},{g // 2},{b // 2},255")
        _option(options, "outline_style", "solid")
        _option(options, "outline_width", "0.1")
        _option(options, "outline_width_unit", "MM")
    return _text(root)
