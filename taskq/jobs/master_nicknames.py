"""Common English given-name nicknames: canonical name -> nicknames.

Used to normalise first names (``bill`` compares as ``william``) and by the
synthetic generator to make nickname swaps. Plain data, no imports.
"""

from __future__ import annotations

__all__ = ["NICKNAMES"]

NICKNAMES: dict[str, tuple[str, ...]] = {
    "william": ("bill", "will", "billy"),
    "robert": ("bob", "rob", "bobby"),
    "richard": ("dick", "rick", "rich"),
    "james": ("jim", "jimmy"),
    "john": ("jack", "johnny"),
    "michael": ("mike", "mick"),
    "thomas": ("tom", "tommy"),
    "joseph": ("joe",),
    "charles": ("charlie", "chuck"),
    "christopher": ("chris",),
    "daniel": ("dan", "danny"),
    "matthew": ("matt",),
    "anthony": ("tony",),
    "steven": ("steve",),
    "andrew": ("andy", "drew"),
    "edward": ("ed", "eddie", "ted"),
    "elizabeth": ("liz", "beth", "betty", "lizzie"),
    "margaret": ("maggie", "peggy", "meg"),
    "katherine": ("kate", "kathy", "katie"),
    "catherine": ("cathy", "cate"),
    "jennifer": ("jen", "jenny"),
    "patricia": ("pat", "patty", "trish"),
    "rebecca": ("becky", "bec"),
    "samantha": ("sam",),
    "alexander": ("alex",),
    "benjamin": ("ben",),
    "nicholas": ("nick",),
    "jonathan": ("jon",),
    "deborah": ("deb", "debbie"),
    "victoria": ("vicky", "tori"),
    "susan": ("sue", "susie"),
    "jacqueline": ("jackie",),
    "christine": ("chris", "tina"),
    "gregory": ("greg",),
    "timothy": ("tim",),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry",),
    "harrison": ("harry",),
    "isabella": ("bella", "izzy"),
}
